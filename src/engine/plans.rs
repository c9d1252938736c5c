//! What a new session is made of: the user's request, filled in from its template and
//! the config's `[limits]`; flags win over the template, the template over the config.

use super::State;
use crate::core::{Limits, Notify, SessionId};
use crate::protocol::{NewSession, TemplateInfo};

/// A request with everything decided that can be before the workspace is planned.
pub(super) struct Plan {
    pub spec: NewSession,
    pub agent: String,
    pub parent: Option<SessionId>,
    pub notify: Option<Notify>,
    pub limits: Limits,
    /// Run in the new workspace before the first prompt.
    pub setup: Option<String>,
    /// Reforge: the workspace starts from a chronicle's tree.
    pub from: Option<Start>,
}

/// The chronicle a reforged session starts from.
pub(super) struct Start {
    pub chronicle: String,
    pub refname: String,
    pub commit: String,
    /// The commit the chronicle's tree was taken on: the new workspace is made on it.
    pub parent_commit: String,
    /// The first session's base, which diffs go back to.
    pub base_commit: String,
}

impl State {
    pub(super) fn plan_session(&self, mut spec: NewSession) -> Result<Plan, String> {
        // A client on another machine leaves `~` to this one: it is this user's home.
        spec.dir = crate::completion::expand_home(&spec.dir);
        let template = match spec.template.as_deref() {
            None => None,
            Some(name) => Some(self.config.templates.get(name).ok_or_else(|| {
                let names: Vec<&str> = self.config.templates.keys().map(String::as_str).collect();
                match names.is_empty() {
                    true => format!("unknown template '{name}': no templates are configured; define one under [templates.{name}] in config.toml"),
                    false => format!("unknown template '{name}': configured templates are {}", names.join(", ")),
                }
            })?),
        };
        if let Some(t) = template {
            spec.agent = spec.agent.or_else(|| t.agent.clone());
            spec.model = spec.model.or_else(|| t.model.clone());
            spec.strategy = spec.strategy.or(t.strategy);
            spec.prompt = spec.prompt.or_else(|| t.prompt.clone());
        }
        let limits = (spec.limits)
            .or(template.map(|t| t.limits()).unwrap_or_default())
            .or(self.config.limits.limits());
        limits.check()?;
        let parent = match spec.parent.as_deref() {
            Some(p) => Some(self.resolve(p).map_err(|e| format!("--parent: {e}"))?),
            None => None,
        };
        let notify = match (parent, spec.notify) {
            (None, Some(_)) => {
                return Err("--notify needs --parent: name the session to tell".into());
            }
            (Some(_), notify) => Some(notify.unwrap_or(Notify::OnIdle)),
            (None, None) => None,
        };
        let agent = (spec.agent.clone()).unwrap_or_else(|| self.config.default_agent.clone());
        Ok(Plan {
            agent,
            parent,
            notify,
            limits,
            setup: template.and_then(|t| t.setup.clone()),
            from: None,
            spec,
        })
    }

    /// The branch a template's pattern gives a session titled `title`.
    pub(super) fn template_branch(&self, template: Option<&str>, title: &str) -> Option<String> {
        self.config.templates.get(template?)?.branch_for(title)
    }

    /// The template's environment for the session's agent.
    pub(super) fn template_env(&self, template: Option<&str>) -> Vec<(String, String)> {
        template
            .and_then(|name| self.config.templates.get(name))
            .map(|t| t.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    pub(super) fn templates(&self) -> Vec<TemplateInfo> {
        (self.config.templates.iter())
            .map(|(name, t)| TemplateInfo {
                name: name.clone(),
                agent: t.agent.clone(),
                model: t.model.clone(),
                strategy: t.strategy,
                branch: t.branch.clone(),
                prompt: t.prompt.clone(),
                setup: t.setup.clone(),
                limits: t.limits(),
                env: t.env.keys().cloned().collect(),
            })
            .collect()
    }
}
