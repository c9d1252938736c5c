//! What the watches of one cluster's pods and volumes say of its sessions. A watch that
//! lost its place (the API server was away, its version expired) lists again, and the
//! watcher says nothing of the objects deleted meanwhile: what is known is kept here, so
//! the relist tells which sessions lost their pod or their volume during the gap. Pure.

use super::pods::Seen;
use crate::cluster::{PodState, objects};
use crate::core::SessionId;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::runtime::watcher;
use std::collections::HashSet;

pub type Event<K> = Result<watcher::Event<K>, watcher::Error>;

/// What one event tells: each session it is news of, and what.
pub type Told = Vec<(SessionId, Seen)>;

#[derive(Default)]
pub struct Watched {
    pods: Known,
    claims: Known,
}

impl Watched {
    /// What an event of the pods' watch says: the pod's state, or that it is gone.
    pub fn pod(&mut self, event: Event<Pod>) -> Told {
        let gone = |id| (id, Seen::Pod(PodState::Gone));
        match event {
            Ok(watcher::Event::Init) => self.pods.listing(),
            Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => {
                objects::session_of(&pod.metadata)
                    .map(|id| (self.pods.saw(id), Seen::Pod(PodState::of(Some(&pod)))))
                    .into_iter()
                    .collect()
            }
            Ok(watcher::Event::Delete(pod)) => objects::session_of(&pod.metadata)
                .map(|id| gone(self.pods.lost(id)))
                .into_iter()
                .collect(),
            Ok(watcher::Event::InitDone) => self.pods.listed().into_iter().map(gone).collect(),
            // The watcher retries with backoff, then lists again.
            Err(_) => Vec::new(),
        }
    }

    /// What an event of the volumes' watch says: only that one is deleted (or being
    /// deleted: a claim in use by its pod goes once the pod is gone).
    pub fn claim(&mut self, event: Event<PersistentVolumeClaim>) -> Told {
        let removed = |id| (id, Seen::Removed);
        match event {
            Ok(watcher::Event::Init) => self.claims.listing(),
            Ok(watcher::Event::Apply(claim) | watcher::Event::InitApply(claim)) => {
                objects::session_of(&claim.metadata)
                    .map(|id| self.claims.saw(id))
                    .filter(|_| claim.metadata.deletion_timestamp.is_some())
                    .map(removed)
                    .into_iter()
                    .collect()
            }
            Ok(watcher::Event::Delete(claim)) => objects::session_of(&claim.metadata)
                .map(|id| removed(self.claims.lost(id)))
                .into_iter()
                .collect(),
            Ok(watcher::Event::InitDone) => self.claims.listed().into_iter().map(removed).collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// The sessions one watch has objects of, and those of the list under way.
#[derive(Default)]
struct Known {
    now: HashSet<SessionId>,
    relisted: Option<HashSet<SessionId>>,
}

impl Known {
    fn listing(&mut self) -> Told {
        self.relisted = Some(HashSet::new());
        Vec::new()
    }

    fn saw(&mut self, id: SessionId) -> SessionId {
        self.now.insert(id);
        if let Some(relisted) = &mut self.relisted {
            relisted.insert(id);
        }
        id
    }

    fn lost(&mut self, id: SessionId) -> SessionId {
        self.now.remove(&id);
        id
    }

    /// The list is whole: those known before that it lacks went while the watch was away.
    fn listed(&mut self) -> Vec<SessionId> {
        let Some(relisted) = self.relisted.take() else {
            return Vec::new();
        };
        let mut went: Vec<SessionId> = self.now.difference(&relisted).copied().collect();
        went.sort();
        self.now = relisted;
        went
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watcher::Event::{Apply, Delete, Init, InitApply, InitDone};

    fn id(n: u128) -> SessionId {
        SessionId(uuid::Uuid::from_u128(n))
    }

    fn object<K: serde::de::DeserializeOwned>(n: u128, deleting: bool) -> K {
        let mut meta = serde_json::json!({
            "name": format!("flotilla-{n}"),
            "labels": {objects::SESSION: id(n).to_string()},
        });
        if deleting {
            meta["deletionTimestamp"] = "2026-12-08T00:00:00Z".into();
        }
        serde_json::from_value(serde_json::json!({"metadata": meta})).unwrap()
    }

    fn pod(n: u128) -> Pod {
        object(n, false)
    }

    fn claim(n: u128) -> PersistentVolumeClaim {
        object(n, false)
    }

    /// Lists `listed` in full, as the watcher does at its start and after a gap.
    fn list<K>(
        watched: &mut Watched,
        take: fn(&mut Watched, Event<K>) -> Told,
        listed: Vec<K>,
    ) -> Told {
        let mut seen = take(watched, Ok(Init));
        for object in listed {
            seen.extend(take(watched, Ok(InitApply(object))));
        }
        seen.extend(take(watched, Ok(InitDone)));
        seen
    }

    #[test]
    fn a_volume_deleted_while_the_watch_was_away_is_told_removed_by_the_relist() {
        let mut watched = Watched::default();
        assert_eq!(
            list(&mut watched, Watched::claim, vec![claim(1), claim(2)]),
            []
        );
        let gap = watcher::Error::NoResourceVersion;
        assert_eq!(watched.claim(Err(gap)), []);
        let relisted = list(&mut watched, Watched::claim, vec![claim(1)]);
        assert_eq!(relisted, [(id(2), Seen::Removed)]);
        // Once told, not again.
        assert_eq!(list(&mut watched, Watched::claim, vec![claim(1)]), []);
    }

    #[test]
    fn a_pod_deleted_while_the_watch_was_away_is_told_gone_by_the_relist() {
        let mut watched = Watched::default();
        let first = list(&mut watched, Watched::pod, vec![pod(1), pod(2)]);
        assert_eq!(first.len(), 2, "each pod's state: {first:?}");
        let relisted = list(&mut watched, Watched::pod, vec![pod(2)]);
        let gone: Vec<&(SessionId, Seen)> = (relisted.iter())
            .filter(|(_, s)| *s == Seen::Pod(PodState::Gone))
            .collect();
        assert_eq!(gone, [&(id(1), Seen::Pod(PodState::Gone))]);
    }

    #[test]
    fn a_volume_is_told_removed_when_deleted_or_marked_for_deletion_and_not_before() {
        let mut watched = Watched::default();
        list(&mut watched, Watched::claim, vec![claim(1), claim(2)]);
        assert_eq!(
            watched.claim(Ok(Apply(claim(1)))),
            [],
            "a change is no news"
        );
        let deleting = object(1, true);
        assert_eq!(watched.claim(Ok(Apply(deleting))), [(id(1), Seen::Removed)]);
        assert_eq!(
            watched.claim(Ok(Delete(claim(2)))),
            [(id(2), Seen::Removed)]
        );
        assert_eq!(
            watched.pod(Ok(Delete(pod(3)))),
            [(id(3), Seen::Pod(PodState::Gone))]
        );
    }
}
