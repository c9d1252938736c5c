//! `flotilla answer ID once|always|deny [--request RID]` end to end: the real `flotilla`
//! binary and its daemon drive the real Claude Code and OpenCode CLIs against fake model
//! servers on 127.0.0.1, in the test network namespace. A write the agent asks about runs
//! when allowed once and does not when denied; the command refuses, on one line, when
//! there is nothing to answer or not the request it names, and then leaves the question
//! pending. `flotilla wait --for` is what the tests wait on. A review comment sent with
//! `flotilla comments ID --send` reaches Claude's model quoted with its file and line.

mod support;

use serde_json::{Value, json};
use std::path::Path;
use support::Repo;
use support::cli::Flotilla;
use support::fake_llm::{Anthropic, FakeServer, OpenAiChat, Reply as Llm};
use support::{isolation, offline};

/// How long `flotilla wait` waits for anything a turn does.
const WAIT: &str = "60s";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Agent {
    Claude,
    Opencode,
}

impl Agent {
    fn name(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Opencode => "opencode",
        }
    }

    /// The model's call of the agent's own tool that writes `content` to `path`.
    fn write(self, path: &Path, content: &str) -> Llm {
        match self {
            Agent::Claude => {
                Llm::tool_call("Write", &json!({"file_path": path, "content": content}))
            }
            Agent::Opencode => {
                Llm::tool_call("write", &json!({"filePath": path, "content": content}))
            }
        }
    }
}

/// A TOML basic string: JSON's quoting is a valid subset.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("json")
}

struct Case {
    agent: Agent,
    f: Flotilla,
    repo: Repo,
    fake: FakeServer,
    _agent_home: tempfile::TempDir,
    /// Serves the fake model.
    _rt: tokio::runtime::Runtime,
}

/// A daemon whose `agent` asks before it writes a file: Claude in the `default`
/// permission mode, OpenCode with `ask = ["edit"]`. None when the test may not run here.
fn case(agent: Agent) -> Option<Case> {
    let binary = isolation::agent_binary(agent.name())?;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let agent_home = isolation::agent_home();
    let home = agent_home.path();
    let (fake, env, asks) = match agent {
        Agent::Claude => {
            let fake = rt.block_on(Anthropic::start()).expect("fake server");
            let env = offline::claude_env(home, fake.url()).expect("offline env");
            (fake, env, "permission_mode = \"default\"")
        }
        Agent::Opencode => {
            let fake = rt.block_on(OpenAiChat::start()).expect("fake server");
            let env = offline::opencode_env(home, fake.url()).expect("offline env");
            (fake, env, "ask = [\"edit\"]")
        }
    };
    let env: Vec<String> = env
        .iter()
        .map(|(k, v)| format!("{k} = {}", quoted(v)))
        .collect();
    let name = agent.name();
    let config = format!(
        "default_agent = \"{name}\"\n\
         [agents.{name}]\nkind = \"{name}\"\ncommand = [{}]\n{asks}\n\
         [agents.{name}.env]\n{}\n",
        quoted(&binary.to_string_lossy()),
        env.join("\n")
    );
    let f = Flotilla::new();
    std::fs::write(f.path("config.toml"), config).expect("config");
    let repo = Repo::new();
    repo.write("README", "hello\n");
    repo.commit_all("first");
    Some(Case {
        agent,
        f,
        repo,
        fake,
        _agent_home: agent_home,
        _rt: rt,
    })
}

impl Case {
    /// A new session of the case's agent in the repository as it is, once it is idle.
    fn new_session(&self) -> String {
        let dir = self.repo.path().to_string_lossy();
        let args = ["new", "--dir", &dir, "--strategy", "existing"];
        let s = self
            .f
            .json(&[&args[..], &["--agent", self.agent.name()]].concat());
        let id = s["id"].as_str().expect("id").to_string();
        self.wait(&id, "idle");
        id
    }

    /// `flotilla wait ID --for status`: the session as it reached it.
    fn wait(&self, id: &str, status: &str) -> Value {
        let args = ["wait", id, "--for", status, "--timeout", WAIT];
        let s = self.f.json(&args);
        assert_eq!(s["status"], status, "wait --for {status}: {s}");
        s
    }

    /// Sends a prompt whose answer writes `content` to `file` in the repository, and
    /// waits for the question: one open card about that file, and nothing written yet.
    /// Returns the card.
    fn ask_to_write(&self, id: &str, file: &str, content: &str) -> Value {
        let path = self.repo.path().join(file);
        self.fake.push(self.agent.write(&path, content));
        self.f.ok(&["send", id, &format!("write {file}")]);
        self.wait(id, "waiting_input");
        let card = self.card(id, file);
        assert!(card["reply"].is_null(), "an open card: {card}");
        assert!(!path.exists(), "nothing is written before the answer");
        card
    }

    /// Every permission part of the session's transcript (`flotilla log --json`), once
    /// each, as last read.
    fn permissions(&self, id: &str) -> Vec<Value> {
        let log = self.f.ok(&["log", id, "--json"]);
        let mut cards: Vec<Value> = Vec::new();
        for line in log.lines().filter(|l| !l.trim().is_empty()) {
            let page: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let messages = page["page"]["messages"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let parts = messages
                .iter()
                .flat_map(|m| m["parts"].as_array().cloned().unwrap_or_default());
            for part in parts.filter(|p| p["type"] == "permission") {
                // Pages overlap at their edges: a part read again replaces its copy.
                cards.retain(|c| c["id"] != part["id"]);
                cards.push(part);
            }
        }
        cards
    }

    /// The one permission part about `file`.
    fn card(&self, id: &str, file: &str) -> Value {
        let cards = self.permissions(id);
        let about: Vec<&Value> = cards
            .iter()
            .filter(|c| c["detail"].as_str().is_some_and(|d| d.ends_with(file)))
            .collect();
        assert_eq!(about.len(), 1, "one card about {file}: {cards:?}");
        about[0].clone()
    }

    fn text(&self, id: &str) -> String {
        self.f.ok(&["log", id])
    }

    /// The model requests of the conversation (not OpenCode's title requests).
    fn model_requests(&self) -> Vec<Value> {
        let requests = self.fake.requests().into_iter();
        let model = requests.filter(|r| r.get("messages").is_some());
        model.filter(|r| !OpenAiChat::is_title_request(r)).collect()
    }

    /// What the last model request reports of the last tool call: its result, as the
    /// agent's protocol has it.
    fn last_tool_result(&self) -> Value {
        let last = self.model_requests().pop().expect("a model request");
        let messages = last["messages"].as_array().cloned().unwrap_or_default();
        let results = messages.iter().flat_map(|m| match self.agent {
            Agent::Claude => {
                let blocks = m["content"].as_array().cloned().unwrap_or_default();
                blocks
                    .into_iter()
                    .filter(|b| b["type"] == "tool_result")
                    .collect()
            }
            Agent::Opencode => [m.clone()]
                .into_iter()
                .filter(|m| m["role"] == "tool")
                .collect::<Vec<_>>(),
        });
        results
            .last()
            .unwrap_or_else(|| panic!("a tool result in {last}"))
    }
}

/// Allowed once, the write runs and the turn goes on to its end; denied, in a second
/// session, nothing is written and the card says `deny`.
fn once_runs_the_tool_and_deny_does_not(c: Case) {
    let (f, agent) = (&c.f, c.agent);
    let id = c.new_session();

    // Allowed once: the file is written, the model gets the tool's result, and the
    // turn ends with the reply after it.
    let allowed = c.repo.path().join("allowed.txt");
    c.ask_to_write(&id, "allowed.txt", "allowed\n");
    c.fake.push(Llm::text("I wrote allowed.txt."));
    let answered = f.json(&["answer", &id, "once"]);
    assert_eq!(answered["id"], id.as_str(), "{answered}");
    c.wait(&id, "idle");
    let written = std::fs::read_to_string(&allowed).expect("the tool ran");
    assert_eq!(written, "allowed\n");
    assert_eq!(c.card(&id, "allowed.txt")["reply"], "once");
    // The tool's result reached the model, as a success.
    let result = c.last_tool_result();
    let call = &result[match agent {
        Agent::Claude => "tool_use_id",
        Agent::Opencode => "tool_call_id",
    }];
    assert!(call.is_string() && result["is_error"] != true, "{result}");
    assert!(c.text(&id).contains("I wrote allowed.txt."));
    let turns = c.model_requests().len();

    // Denied, in a session of its own (the fake model names every tool call alike, and
    // Claude would take a second one in one conversation for the first): nothing is
    // written and the card says so.
    let other = c.new_session();
    let denied = c.repo.path().join("denied.txt");
    c.ask_to_write(&other, "denied.txt", "denied\n");
    if agent == Agent::Claude {
        // Claude tells the model of the refusal and goes on; OpenCode ends the turn.
        c.fake.push(Llm::text("Understood, I did not write it."));
    }
    f.ok(&["answer", &other, "deny"]);
    c.wait(&other, "idle");
    assert!(!denied.exists(), "{agent:?}: denied, nothing written");
    assert_eq!(c.card(&other, "denied.txt")["reply"], "deny");
    match agent {
        Agent::Claude => {
            let result = c.last_tool_result();
            assert_eq!(
                result["is_error"], true,
                "the model is told of the refusal: {result}"
            );
            assert!(c.text(&other).contains("Understood, I did not write it."));
        }
        // The ask itself was the one model request of that turn.
        Agent::Opencode => assert_eq!(c.model_requests().len(), turns + 1),
    }
    assert_eq!(c.fake.pending(), 0, "every scripted reply was asked for");
}

/// Refusals, each one line on stderr and a failure: nothing pending (idle, before and
/// after a question), and a request that is not the pending one, which stays pending
/// and is then answered by its own id.
fn refusals_leave_the_question_alone(c: Case) {
    let f = &c.f;
    let id = c.new_session();
    let said = f.fails(&["answer", &id, "once"]);
    assert!(said.contains("nothing to answer"), "idle: {said}");

    let path = c.repo.path().join("named.txt");
    let card = c.ask_to_write(&id, "named.txt", "named\n");
    let said = f.fails(&["answer", &id, "once", "--request", "nope"]);
    assert!(said.contains("'nope'"), "names the request: {said}");
    assert_eq!(f.status(&id), "waiting_input", "still waiting");
    assert!(c.card(&id, "named.txt")["reply"].is_null(), "still open");
    assert!(!path.exists(), "nothing written on a refusal");

    c.fake.push(Llm::text("I wrote named.txt."));
    let rid = card["request_id"].as_str().expect("the request's id");
    f.ok(&["answer", &id, "once", "--request", rid]);
    c.wait(&id, "idle");
    assert_eq!(
        std::fs::read_to_string(&path).expect("the tool ran"),
        "named\n"
    );
    assert_eq!(c.card(&id, "named.txt")["reply"], "once");

    // Answered, it is gone: a second answer finds nothing.
    let said = f.fails(&["answer", &id, "deny", "--request", rid]);
    assert!(
        said.contains("nothing to answer"),
        "answered already: {said}"
    );
    let said = f.fails(&["answer", &id, "deny"]);
    assert!(
        said.contains("nothing to answer"),
        "answered already: {said}"
    );
}

#[test]
fn claude_once_runs_the_tool_and_deny_does_not() {
    let Some(c) = case(Agent::Claude) else { return };
    once_runs_the_tool_and_deny_does_not(c);
}

#[test]
fn opencode_once_runs_the_tool_and_deny_does_not() {
    let Some(c) = case(Agent::Opencode) else {
        return;
    };
    once_runs_the_tool_and_deny_does_not(c);
}

#[test]
fn claude_refusals_leave_the_question_alone() {
    let Some(c) = case(Agent::Claude) else { return };
    refusals_leave_the_question_alone(c);
}

#[test]
fn opencode_refusals_leave_the_question_alone() {
    let Some(c) = case(Agent::Opencode) else {
        return;
    };
    refusals_leave_the_question_alone(c);
}

/// A review comment made and sent from the CLI reaches the model in the next request,
/// quoted with its file, its line and the code around it.
fn a_review_comment_reaches_the_model(c: Case) {
    let id = c.new_session();
    c.repo
        .write("notes.txt", "first line\nsecond line\nthird line\n");
    let place = "notes.txt:2";
    c.f.ok(&["comment", &id, place, "say why the second line is here"]);
    let listed = c.f.ok(&["comments", &id]);
    assert!(listed.contains("waiting  notes.txt:2"), "{listed}");
    c.fake.push(Llm::text("I will explain it."));
    let asked = c.model_requests().len();
    c.f.ok(&["comments", &id, "--send"]);
    c.wait(&id, "idle");
    let requests = c.model_requests();
    assert!(requests.len() > asked, "the comment made a model request");
    let text = Anthropic::last_user_text(requests.last().expect("request")).expect("user text");
    assert!(text.contains("notes.txt:2\n"), "{text}");
    assert!(text.contains("> 2 | second line\n"), "{text}");
    assert!(text.contains("  1 | first line\n"), "{text}");
    assert!(
        text.contains("Comment: say why the second line is here"),
        "{text}"
    );
    let listed = c.f.ok(&["comments", &id]);
    assert!(listed.contains("sent     notes.txt:2"), "{listed}");
}

#[test]
fn claude_gets_a_review_comment_quoted_with_its_file_and_line() {
    let Some(c) = case(Agent::Claude) else { return };
    a_review_comment_reaches_the_model(c);
}
