//! What the lifecycle tests share: an engine on a fresh home with a config, sessions
//! made in its repository, and the waits and refusals they look for.

use super::engine::AgentWorld;
use super::files_on_disk;
use flotilla::config::Config;
use flotilla::core::{Chronicle, Session, Status};
use flotilla::protocol::{Command, NewSession, Reply};

pub type Files = std::collections::BTreeMap<String, (bool, Vec<u8>)>;

pub async fn world(config: &str) -> AgentWorld {
    AgentWorld::start(Config::parse(config).expect("config")).await
}

/// A session made from `spec` (its directory is the world's repository).
pub async fn create(w: &AgentWorld, spec: NewSession) -> Session {
    let spec = NewSession {
        dir: w.repo.path().to_path_buf(),
        ..spec
    };
    match w.request(Command::New(spec)).await {
        Reply::Session { session, .. } => session,
        other => panic!("{other:?}"),
    }
}

pub fn ended(s: &Session) -> bool {
    s.status.is_ended()
}

pub async fn chronicles(w: &AgentWorld, s: &Session) -> Vec<Chronicle> {
    let session = Some(s.id.to_string());
    match w.request(Command::Chronicles { session }).await {
        Reply::Chronicles { chronicles } => chronicles,
        other => panic!("{other:?}"),
    }
}

pub async fn refused(w: &AgentWorld, command: Command) -> String {
    let err = w.client.request(command).await.expect_err("refused");
    assert!(!err.contains('\n'), "{err}");
    err
}

/// A command agent that records each prompt it is given in `log`, and answers "noted".
pub fn recorder(log: &std::path::Path) -> String {
    format!(
        "[agents.recorder]\ncommand = [\"sh\", \"-c\", \"printf '%s\\\\n===\\\\n' \\\"$1\\\" >> '{}'; echo noted\", \"sh\", \"{{prompt}}\"]\n",
        log.display()
    )
}

/// A session that commits one file, changes another without committing, and leaves an
/// untracked one; the files as it left them.
pub async fn with_work(
    w: &AgentWorld,
) -> (Session, std::collections::BTreeMap<String, (bool, Vec<u8>)>) {
    let s = create(
        w,
        NewSession {
            title: Some("work".into()),
            ..NewSession::default()
        },
    )
    .await;
    let s = w.wait_for(&s, |s| s.status == Status::Idle).await;
    let work = "echo kept > committed.txt && git add committed.txt && git commit -qm c && printf 'changed\\n' >> README && echo fresh > untracked.txt && rm -f gone.txt";
    w.turn(&s, work).await;
    let files = files_on_disk(&s.workspace);
    assert!(
        files.contains_key("untracked.txt") && files.contains_key("committed.txt"),
        "{files:?}"
    );
    (s, files)
}
