//! Captures of what the pinned agent CLIs really print, for the parser tests next to each
//! backend (src/agent/*/): every test runs one real CLI against a fake model server on
//! 127.0.0.1, drives it the way its backend does, and records the raw protocol lines the
//! backend's parser reads: Claude Code's and Codex's stdout lines, the `data:` payloads of
//! OpenCode's event stream. With `FLOTILLA_CAPTURE_DIR` set, each scenario is written to
//! `$FLOTILLA_CAPTURE_DIR/<agent>/<scenario>.jsonl`, one line as printed per line.
//!
//! Ignored: `scripts/capture-agents` runs them in a loopback-only network namespace.

/// The parts of tests/support a capture needs (not the engine harnesses).
#[allow(dead_code)]
mod support {
    pub mod fake_llm;
    pub mod isolation;
    pub mod offline;
}

mod codex_app_capture;
use codex_app_capture::{self as app, Answer as App};

use eventsource_stream::Eventsource;
use flotilla::agent::Launch;
use flotilla::agent::claude::{self, lines};
use flotilla::agent::codex::{self, CodexBackend};
use flotilla::process_groups::Registry;
use futures::StreamExt;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use support::fake_llm::{Anthropic, FakeServer, OpenAiChat, OpenAiResponses, Reply as Llm};
use support::{isolation, offline};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::timeout;

/// How long any one line (or frame) may take to come.
const WAIT: Duration = Duration::from_secs(60);
/// The conversation id the Claude captures are started with (`--session-id`).
const CLAUDE_SESSION: &str = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
const HELLO: &str = "Hello from the fake model, streamed in pieces.";
const REFUSAL: &str = "the fake model refuses this";

type Env = Vec<(String, String)>;

/// One scenario's world: the agent's binary, a workspace, an agent home and a fake model
/// server with the scenario's replies.
struct Scene {
    agent: &'static str,
    bin: PathBuf,
    workspace: tempfile::TempDir,
    home: tempfile::TempDir,
    fake: FakeServer,
    env: Env,
}

impl Scene {
    /// None when the agent cannot run here; a capture run fails instead.
    async fn new(
        agent: &'static str,
        fake: std::io::Result<FakeServer>,
        env: fn(&Path, &str) -> std::io::Result<Env>,
        replies: impl FnOnce(&Path) -> Vec<Llm>,
    ) -> Option<Scene> {
        let bin = isolation::agent_binary(agent);
        let capturing = std::env::var_os("FLOTILLA_CAPTURE_DIR").is_some();
        assert!(bin.is_some() || !capturing, "cannot capture {agent}");
        let fake = fake.expect("fake model server");
        let home = isolation::agent_home();
        let mut env = env(home.path(), fake.url()).expect("offline env");
        env.push(("PATH".into(), std::env::var("PATH").unwrap_or_default()));
        let workspace = tempfile::tempdir().expect("workspace");
        replies(workspace.path())
            .into_iter()
            .for_each(|r| fake.push(r));
        Some(Scene {
            agent,
            bin: bin?,
            workspace,
            home,
            fake,
            env,
        })
    }

    /// The agent's command: in the workspace, with only the offline environment.
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(self.workspace.path())
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// Writes the lines as they came, but for this run's temporary paths (they name the
    /// machine), which become `/workspace` and `/agent-home`.
    fn save(&self, scenario: &str, lines: &[String]) {
        let agent = self.agent;
        let left = self.fake.pending();
        assert_eq!(
            left, 0,
            "{agent} {scenario}: {left} replies never asked for"
        );
        eprintln!("{agent} {scenario}: {} lines", lines.len());
        let Some(root) = std::env::var_os("FLOTILLA_CAPTURE_DIR") else {
            return;
        };
        let mut paths = Vec::new();
        let dirs = [
            (self.home.path(), "/agent-home"),
            (self.workspace.path(), "/workspace"),
        ];
        for (dir, to) in dirs {
            for p in [dir.canonicalize().expect("a path"), dir.to_path_buf()] {
                let p = p.to_string_lossy().into_owned();
                // Claude names folders after a path with `-` for `/` and `.`; OpenCode
                // also writes it relative to the root.
                paths.push((mangled(&p), mangled(to)));
                paths.push((p[1..].to_string(), to[1..].to_string()));
                paths.push((p, to.to_string()));
            }
        }
        paths.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        let mut text = String::new();
        for line in lines {
            let line = paths
                .iter()
                .fold(line.clone(), |l, (p, to)| l.replace(p, to));
            text.push_str(&line);
            text.push('\n');
        }
        let dir = PathBuf::from(root).join(agent);
        std::fs::create_dir_all(&dir).expect("capture dir");
        std::fs::write(dir.join(format!("{scenario}.jsonl")), text).expect("write capture");
    }
}

fn mangled(path: &str) -> String {
    let keep = |c: char| if c.is_ascii_alphanumeric() { c } else { '-' };
    path.chars().map(keep).collect()
}

/// A running CLI whose stdout lines are recorded as they are read.
struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    seen: Vec<String>,
}

impl Proc {
    fn spawn(cmd: &mut Command) -> Proc {
        let mut child = cmd.spawn().expect("spawn the agent");
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take().expect("stdout"));
        let stdout = BufReader::new(stdout).lines();
        Proc {
            child,
            stdin,
            stdout,
            seen: Vec::new(),
        }
    }

    async fn write(&mut self, line: String) {
        let stdin = self.stdin.as_mut().expect("stdin");
        let line = format!("{line}\n");
        stdin.write_all(line.as_bytes()).await.expect("write");
        stdin.flush().await.expect("flush");
    }

    /// The next line, parsed (null when it is not JSON); none at the end of the output.
    async fn next(&mut self) -> Option<Value> {
        let line = timeout(WAIT, self.stdout.next_line()).await;
        let line = line.expect("the agent went quiet").expect("read")?;
        let value = serde_json::from_str(&line).unwrap_or(Value::Null);
        self.seen.push(line);
        Some(value)
    }

    /// Closes stdin, reads the output to its end and waits for the exit.
    async fn finish(mut self) -> Vec<String> {
        self.stdin = None;
        while self.next().await.is_some() {}
        let exit = timeout(WAIT, self.child.wait()).await;
        exit.expect("the agent did not exit").expect("wait");
        self.seen
    }
}

// ---- Claude Code: `claude -p --input-format stream-json ...` as the backend runs it.

/// What the capture does in a turn besides reading it.
#[derive(Clone, Copy, PartialEq)]
enum Claude {
    /// Tool permissions asked are allowed, with the input as asked.
    Allow,
    Deny,
    /// The first streamed text is answered with an interrupt request.
    Interrupt,
}

/// Reads one turn to its `result` line, answering Claude's requests as the backend does.
async fn claude_turn(p: &mut Proc, prompt: &str, how: Claude) {
    p.write(lines::user(prompt)).await;
    let mut interrupted = false;
    loop {
        let v = p.next().await.expect("claude ended without a result");
        match v["type"].as_str().unwrap_or("") {
            "result" => return,
            "control_request" => {
                let id = v["request_id"].as_str().unwrap_or_default();
                let request = &v["request"];
                let answer = match (request["subtype"].as_str(), how) {
                    (Some("can_use_tool"), Claude::Deny) => {
                        json!({"behavior": "deny", "message": "denied by the user"})
                    }
                    (Some("can_use_tool"), _) => {
                        json!({"behavior": "allow", "updatedInput": request["input"]})
                    }
                    _ => {
                        p.write(lines::control_error(id, "not handled")).await;
                        continue;
                    }
                };
                p.write(lines::control_response(id, answer)).await;
            }
            "stream_event" if how == Claude::Interrupt && !interrupted => {
                interrupted = v["event"]["delta"]["type"] == "text_delta";
                if interrupted {
                    p.write(lines::interrupt("flotilla_interrupt_1")).await;
                }
            }
            _ => {}
        }
    }
}

/// One Claude process, permission mode `default`, its prompts one turn each; `how` is for
/// the last one, the others just run.
async fn capture_claude(
    scenario: &str,
    replies: impl FnOnce(&Path) -> Vec<Llm>,
    prompts: &[&str],
    how: Claude,
) {
    let scene = Scene::new(
        "claude",
        Anthropic::start().await,
        offline::claude_env,
        replies,
    );
    let Some(scene) = scene.await else { return };
    let launch = Launch {
        session: CLAUDE_SESSION.parse().expect("uuid"),
        workspace: scene.workspace.path().into(),
        agent_session_id: None,
        model: None,
        groups: Registry::none(),
        env: Vec::new(),
    };
    let settings = claude::Settings {
        permission_mode: Some("default".into()),
    };
    let args = claude::args(&settings, &launch, None);
    let mut p = Proc::spawn(scene.command().args(args).stdin(Stdio::piped()));
    p.write(lines::initialize()).await;
    for (i, prompt) in prompts.iter().enumerate() {
        let last = i + 1 == prompts.len();
        claude_turn(&mut p, prompt, if last { how } else { Claude::Allow }).await;
    }
    scene.save(scenario, &p.finish().await);
}

// ---- Codex: one `codex exec --json ...` per turn, as the backend runs it.

async fn codex_turn(scene: &Scene, prompt: &str, thread: Option<&str>) -> Vec<String> {
    let settings = codex::Settings {
        sandbox: Some("workspace-write".into()),
        approval: Some("never".into()),
    };
    let backend = CodexBackend::new(scene.bin.clone(), Vec::new(), settings);
    let args = backend.args(prompt, thread, None);
    Proc::spawn(scene.command().args(args)).finish().await
}

async fn codex_scene(replies: Vec<Llm>) -> Option<Scene> {
    let fake = OpenAiResponses::start().await;
    Scene::new("codex", fake, offline::codex_env, |_| replies).await
}

async fn capture_codex(scenario: &str, replies: Vec<Llm>, prompt: &str) {
    let Some(scene) = codex_scene(replies).await else {
        return;
    };
    scene.save(scenario, &codex_turn(&scene, prompt, None).await);
}

/// A text turn, then its thread resumed by a second process.
async fn capture_codex_resumed() {
    let replies = vec![
        Llm::text(HELLO),
        Llm::text("I remember the first question."),
    ];
    let Some(scene) = codex_scene(replies).await else {
        return;
    };
    let first = codex_turn(&scene, "say hello", None).await;
    let started = first.iter().find_map(|l| {
        let v: Value = serde_json::from_str(l).ok()?;
        Some(v["thread_id"].as_str()?.to_string()).filter(|_| v["type"] == "thread.started")
    });
    let thread = started.expect("a thread.started line");
    let resumed = codex_turn(&scene, "what did I ask first", Some(&thread)).await;
    scene.save("text", &first);
    scene.save("resumed", &resumed);
}

// ---- OpenCode: `opencode serve`, a prompt, and its event stream until the session idles.

async fn send(request: RequestBuilder, what: &str) -> reqwest::Response {
    let response = request.timeout(WAIT).send().await.expect(what);
    assert!(response.status().is_success(), "{what}: {response:?}");
    response
}

/// One server; a session asking before the tools in `ask`; one prompt. Permissions asked
/// are answered `once`.
async fn capture_opencode(
    scenario: &str,
    ask: &[&str],
    replies: impl FnOnce(&Path) -> Vec<Llm>,
    prompt: &str,
) {
    let fake = OpenAiChat::start().await;
    let scene = Scene::new("opencode", fake, offline::opencode_env, replies).await;
    let Some(scene) = scene else { return };
    const PASSWORD: &str = "capture";
    let mut cmd = scene.command();
    cmd.args(["serve", "--hostname", "127.0.0.1", "--port", "0"])
        .env("OPENCODE_SERVER_PASSWORD", PASSWORD);
    let mut server = Proc::spawn(&mut cmd);
    let url = loop {
        let line = server.next().await;
        line.expect("opencode exited before it listened");
        let said = server.seen.last().expect("a line");
        if let Some(at) = said.find("http://") {
            break said[at..].trim().to_string();
        }
    };
    // What it says later is not wanted, but must not fill the pipe.
    tokio::spawn(async move { while server.next().await.is_some() {} });

    let http = reqwest::Client::new();
    let dir = scene.workspace.path().to_string_lossy().into_owned();
    let call = |method: Method, path: &str| {
        let request = http.request(method, format!("{url}{path}"));
        let request = request.basic_auth("opencode", Some(PASSWORD));
        request.query(&[("directory", dir.as_str())])
    };
    send(call(Method::GET, "/global/health"), "health").await;
    let stream = send(call(Method::GET, "/event"), "the event stream").await;
    let mut frames = stream.bytes_stream().eventsource();
    let mut seen = Vec::new();
    let mut frame = async || {
        let frame = timeout(WAIT, frames.next())
            .await
            .expect("opencode went quiet");
        let data = frame.expect("the stream ended").expect("a frame").data;
        seen.push(data.clone());
        serde_json::from_str::<Value>(&data).expect("a JSON frame")
    };
    assert_eq!(frame().await["type"], "server.connected");

    let rules: Vec<Value> = (ask.iter())
        .map(|tool| json!({"permission": tool, "pattern": "*", "action": "ask"}))
        .collect();
    let body = match rules.is_empty() {
        true => json!({}),
        false => json!({"permission": rules}),
    };
    let session = send(call(Method::POST, "/session").json(&body), "a session").await;
    let session: Value = session.json().await.expect("a session");
    let id = session["id"].as_str().expect("session id").to_string();
    let prompt = json!({"parts": [{"type": "text", "text": prompt}]});
    let path = format!("/session/{id}/prompt_async");
    send(call(Method::POST, &path).json(&prompt), "the prompt").await;
    loop {
        let event = frame().await;
        let props = &event["properties"];
        match event["type"].as_str().unwrap_or("") {
            "permission.asked" => {
                let path = format!("/permission/{}/reply", props["id"].as_str().unwrap_or(""));
                let reply = json!({"reply": "once"});
                send(call(Method::POST, &path).json(&reply), "the reply").await;
            }
            "session.idle" if props["sessionID"] == id.as_str() => break,
            _ => {}
        }
    }
    scene.save(scenario, &seen);
}

// ---- The scenarios.

/// A Claude Write of a file in the workspace: in the default mode it asks.
fn write(dir: &Path, name: &str) -> Llm {
    let input = json!({"file_path": dir.join(name), "content": "made by claude\n"});
    Llm::tool_call("Write", &input)
}

/// A reply slow enough to be interrupted: 20 s of chunks.
const SLOW: Llm = Llm::SlowText {
    chunks: 400,
    delay_ms: 50,
};

macro_rules! scenarios {
    ($($name:ident => $capture:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[ignore = "a capture of a real CLI: scripts/capture-agents runs it"]
        async fn $name() {
            $capture.await
        }
    )*};
}

scenarios! {
    // Two turns of one process: its cost total grows.
    claude_text => capture_claude("text", |_| vec![Llm::text(HELLO), Llm::text("Hello again.")],
        &["say hello", "once more"], Claude::Allow);
    // A command Claude takes for read-only runs without asking.
    claude_tool => capture_claude("tool", |_| vec![
        Llm::tool_call("Bash", &json!({"command": "echo flotilla-tool-output", "description": "Print a word"})),
        Llm::text("The command ran."),
    ], &["run a command"], Claude::Allow);
    claude_permission => capture_claude("permission",
        |dir| vec![write(dir, "made.txt"), Llm::text("I wrote the file.")],
        &["write the file"], Claude::Allow);
    claude_permission_denied => capture_claude("permission-denied",
        |dir| vec![write(dir, "denied.txt"), Llm::text("Understood, I did not write it.")],
        &["write the file"], Claude::Deny);
    // After a turn that cost something: what the interrupted one says it cost.
    claude_interrupt => capture_claude("interrupt", |_| vec![Llm::text("Hello first."), SLOW],
        &["say hello", "talk slowly"], Claude::Interrupt);
    claude_api_error => capture_claude("api-error", |_| vec![Llm::error(400, REFUSAL)],
        &["fail please"], Claude::Allow);

    codex_text_then_resumed => capture_codex_resumed();
    codex_command => capture_codex("command", vec![
        Llm::tool_call("exec_command", &json!({"cmd": "echo flotilla-shell-output"})),
        Llm::text("The command ran."),
    ], "run a command");
    codex_file_change => capture_codex("file-change", vec![
        Llm::ToolCall {
            name: "apply_patch".into(),
            arguments_json: "*** Begin Patch\n*** Add File: made.txt\n+made by codex\n*** End Patch\n".into(),
        },
        Llm::text("I wrote the file."),
    ], "write the file");
    codex_api_error => capture_codex("api-error", vec![Llm::error(400, REFUSAL)], "fail please");

    // The app server (`codex app-server`), as the backend drives it.
    codex_app_text => app::capture("app-text", vec![Llm::text(HELLO)], &["say hello"],
        "on-request", App::Accept);
    codex_app_resumed => app::capture_resumed(HELLO, "You asked me to say hello.");
    // `untrusted` asks before any command it does not know to be safe.
    codex_app_command => app::capture("app-command", vec![
        Llm::tool_call("exec_command", &json!({"cmd": "touch made-by-command.txt"})),
        Llm::text("The command ran."),
    ], &["run a command"], "untrusted", App::Accept);
    codex_app_command_declined => app::capture("app-command-declined", vec![
        Llm::tool_call("exec_command", &json!({"cmd": "touch declined.txt"})),
        Llm::text("Understood, I did not run it."),
    ], &["run a command"], "untrusted", App::Decline);
    // `on-request`: the model asks to leave the sandbox, and that asks the user.
    codex_app_escalation => app::capture("app-escalation", vec![
        Llm::tool_call("exec_command", &json!({
            "cmd": "touch escalated.txt",
            "sandbox_permissions": "require_escalated",
            "justification": "the test asks for it",
        })),
        Llm::text("The command ran."),
    ], &["run a command outside the sandbox"], "on-request", App::AcceptForSession);
    codex_app_file_change => app::capture("app-file-change", vec![
        Llm::ToolCall {
            name: "apply_patch".into(),
            arguments_json: "*** Begin Patch\n*** Add File: made.txt\n+made by codex\n*** End Patch\n".into(),
        },
        Llm::text("I wrote the file."),
    ], &["write the file"], "untrusted", App::Accept);
    codex_app_interrupt => app::capture("app-interrupt", vec![Llm::text("Hello first."), SLOW],
        &["say hello", "talk slowly"], "on-request", App::Interrupt);

    opencode_text => capture_opencode("text", &[], |_| vec![Llm::text(HELLO)], "say hello");
    opencode_tool => capture_opencode("tool", &[], |_| vec![
        Llm::tool_call("bash", &json!({"command": "echo flotilla-tool-output", "description": "Print a word"})),
        Llm::text("The command ran."),
    ], "run a command");
    // OpenCode's `edit` asks first: the write waits for its answer.
    opencode_permission => capture_opencode("permission", &["edit"], |dir| vec![
        Llm::tool_call("write", &json!({"filePath": dir.join("made.txt"), "content": "made by opencode\n"})),
        Llm::text("I wrote the file."),
    ], "write the file");
    opencode_api_error => capture_opencode("api-error", &[], |_| vec![Llm::error(400, REFUSAL)], "fail please");
}
