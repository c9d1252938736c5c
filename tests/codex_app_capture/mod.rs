//! Captures of `codex app-server`: one long-lived process spoken to in JSON-RPC 2.0 over
//! stdio, driven as an editor integration drives it: `initialize` and `initialized`,
//! `thread/start` (or `thread/resume` in a second process), then `turn/start` per prompt,
//! answering the server's approval requests, and `turn/interrupt` where a scenario says.
//! Every line the server prints is recorded.

use super::{Llm, Proc, Scene, codex_scene};
use serde_json::{Value, json};
use std::process::Stdio;

/// What a turn does besides reading it.
#[derive(Clone, Copy, PartialEq)]
pub enum Answer {
    /// Approval requests are accepted once.
    Accept,
    /// Accepted for the rest of the session.
    AcceptForSession,
    Decline,
    /// The first streamed text is answered with `turn/interrupt`.
    Interrupt,
}

/// One app-server process and the next request id.
struct Rpc {
    p: Proc,
    id: u64,
}

impl Rpc {
    fn spawn(scene: &Scene) -> Rpc {
        let mut cmd = scene.command();
        cmd.arg("app-server").stdin(Stdio::piped());
        Rpc {
            p: Proc::spawn(&mut cmd),
            id: 0,
        }
    }

    /// Sends a request and reads up to its response, which it returns (its `result`).
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.id += 1;
        let id = self.id;
        let line = json!({"id": id, "method": method, "params": params});
        self.p.write(line.to_string()).await;
        loop {
            let v = self.p.next().await.expect("the app server ended");
            if v["id"] == id && v.get("method").is_none() {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    async fn start(&mut self) {
        let info = json!({"clientInfo": {"name": "flotilla-capture", "version": "0"}});
        self.call("initialize", info).await;
        self.p
            .write(json!({"method": "initialized"}).to_string())
            .await;
    }

    /// One turn to its `turn/completed`, answering what the server asks as `how` says.
    async fn turn(&mut self, thread: &str, prompt: &str, how: Answer) {
        let input = json!([{"type": "text", "text": prompt}]);
        self.call("turn/start", json!({"threadId": thread, "input": input}))
            .await;
        let mut turn = None;
        let mut interrupted = false;
        loop {
            let v = self.p.next().await.expect("the app server ended mid-turn");
            let method = v["method"].as_str().unwrap_or_default();
            match method {
                "turn/started" => turn = v["params"]["turn"]["id"].as_str().map(String::from),
                "turn/completed" => return,
                "item/agentMessage/delta" if how == Answer::Interrupt && !interrupted => {
                    interrupted = true;
                    let turn = turn.clone().expect("turn/started came first");
                    self.id += 1;
                    let params = json!({"threadId": thread, "turnId": turn});
                    let line = json!({"id": self.id, "method": "turn/interrupt", "params": params});
                    self.p.write(line.to_string()).await;
                }
                m if m.ends_with("/requestApproval") && v.get("id").is_some() => {
                    let decision = match how {
                        Answer::AcceptForSession => "acceptForSession",
                        Answer::Decline => "decline",
                        _ => "accept",
                    };
                    let answer = json!({"id": v["id"], "result": {"decision": decision}});
                    self.p.write(answer.to_string()).await;
                }
                _ => {}
            }
        }
    }
}

/// A thread started with `approval` and the workspace-write sandbox, its prompts one turn
/// each; `how` is for the last one.
pub async fn capture(
    scenario: &str,
    replies: Vec<Llm>,
    prompts: &[&str],
    approval: &str,
    how: Answer,
) {
    let Some(scene) = codex_scene(replies).await else {
        return;
    };
    let mut rpc = Rpc::spawn(&scene);
    rpc.start().await;
    let cwd = scene.workspace.path().to_string_lossy().into_owned();
    let params = json!({"cwd": cwd, "approvalPolicy": approval, "sandbox": "workspace-write"});
    let started = rpc.call("thread/start", params).await;
    let thread = started["thread"]["id"]
        .as_str()
        .expect("thread id")
        .to_string();
    for (i, prompt) in prompts.iter().enumerate() {
        let last = i + 1 == prompts.len();
        rpc.turn(&thread, prompt, if last { how } else { Answer::Accept })
            .await;
    }
    scene.save(scenario, &rpc.p.finish().await);
}

/// A text turn in one process, then the thread resumed by a second and a turn there.
pub async fn capture_resumed(first: &str, second: &str) {
    let replies = vec![Llm::text(first), Llm::text(second)];
    let Some(scene) = codex_scene(replies).await else {
        return;
    };
    let cwd = scene.workspace.path().to_string_lossy().into_owned();
    let mut rpc = Rpc::spawn(&scene);
    rpc.start().await;
    let params = json!({"cwd": cwd, "approvalPolicy": "on-request", "sandbox": "workspace-write"});
    let started = rpc.call("thread/start", params).await;
    let thread = started["thread"]["id"]
        .as_str()
        .expect("thread id")
        .to_string();
    rpc.turn(&thread, "say hello", Answer::Accept).await;
    let mut seen = rpc.p.finish().await;
    let mut rpc = Rpc::spawn(&scene);
    rpc.start().await;
    let params = json!({"threadId": thread, "cwd": cwd});
    rpc.call("thread/resume", params).await;
    rpc.turn(&thread, "what did I ask first", Answer::Accept)
        .await;
    seen.extend(rpc.p.finish().await);
    let asked = scene.fake.requests();
    let last = asked.last().map(|r| r.to_string()).unwrap_or_default();
    assert!(
        last.contains("say hello"),
        "the resumed turn sends the earlier conversation: {last}"
    );
    scene.save("app-resumed", &seen);
}
