//! Offline environments for the agent CLIs.
//!
//! Each function takes a fresh, empty directory used as the agent's home and
//! the base URL of a fake LLM server (`http://127.0.0.1:PORT`, no path),
//! writes the files the agent needs there, and returns the environment
//! variables to set. Start the agent with a cleared environment plus `PATH`
//! and these pairs, and run it inside a loopback-only network namespace.

use std::fs;
use std::io;
use std::path::Path;

use serde_json::json;

/// Model id the OpenCode config points at (`fake/fake-model`).
pub const OPENCODE_MODEL: &str = "fake/fake-model";

/// Model slug for Codex; it must be one the binary knows.
pub const CODEX_MODEL: &str = "gpt-5.5";

type Env = Vec<(String, String)>;

fn pair(key: &str, value: impl Into<String>) -> (String, String) {
    (key.to_string(), value.into())
}

fn path_str(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// OpenCode (`opencode serve`): XDG dirs under `home`, the "no network"
/// switches, the provider config in `OPENCODE_CONFIG_CONTENT`, and the files
/// that stop the background plugin install.
pub fn opencode_env(home: &Path, llm_url: &str) -> io::Result<Env> {
    let config = home.join(".config");
    let data = home.join(".local/share");
    let cache = home.join(".cache");
    let state = home.join(".local/state");
    for dir in [&config, &data, &cache, &state] {
        fs::create_dir_all(dir)?;
    }
    write_plugin_stub(&config.join("opencode"))?;

    let provider_config = json!({
        "autoupdate": false,
        "share": "disabled",
        "enabled_providers": ["fake"],
        "model": OPENCODE_MODEL,
        "small_model": OPENCODE_MODEL,
        "provider": {"fake": {
            "npm": "@ai-sdk/openai-compatible",
            "name": "Fake",
            "options": {"baseURL": format!("{llm_url}/v1"), "apiKey": "sk-fake"},
            "models": {"fake-model": {
                "name": "Fake",
                "tool_call": true,
                "limit": {"context": 128000, "output": 4096},
            }},
        }},
    });

    let mut env = vec![
        pair("HOME", path_str(home)),
        pair("XDG_CONFIG_HOME", path_str(&config)),
        pair("XDG_DATA_HOME", path_str(&data)),
        pair("XDG_CACHE_HOME", path_str(&cache)),
        pair("XDG_STATE_HOME", path_str(&state)),
        pair("OPENCODE_CONFIG_CONTENT", provider_config.to_string()),
    ];
    for switch in [
        "OPENCODE_DISABLE_MODELS_FETCH",
        "OPENCODE_DISABLE_AUTOUPDATE",
        "OPENCODE_DISABLE_DEFAULT_PLUGINS",
        "OPENCODE_DISABLE_LSP_DOWNLOAD",
        "OPENCODE_DISABLE_SHARE",
        "OPENCODE_DISABLE_CLAUDE_CODE",
        "OPENCODE_DISABLE_EXTERNAL_SKILLS",
        "OPENCODE_PURE",
    ] {
        env.push(pair(switch, "1"));
    }
    Ok(env)
}

/// `node_modules/`, `package.json` and a v3 `package-lock.json` listing
/// `@opencode-ai/plugin`, so OpenCode skips its `npm install` at start.
fn write_plugin_stub(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir.join("node_modules"))?;
    let deps = json!({"@opencode-ai/plugin": "*"});
    let package = json!({"dependencies": deps});
    let lock = json!({
        "name": "opencode",
        "lockfileVersion": 3,
        "requires": true,
        "packages": {"": {"dependencies": deps}},
    });
    fs::write(dir.join("package.json"), package.to_string())?;
    fs::write(dir.join("package-lock.json"), lock.to_string())
}

/// Claude Code: `home` is both `HOME` and `CLAUDE_CONFIG_DIR`.
pub fn claude_env(home: &Path, llm_url: &str) -> io::Result<Env> {
    fs::create_dir_all(home)?;
    Ok(vec![
        pair("HOME", path_str(home)),
        pair("CLAUDE_CONFIG_DIR", path_str(home)),
        pair("ANTHROPIC_BASE_URL", llm_url),
        pair("ANTHROPIC_API_KEY", "dummy"),
        pair("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
        pair("DISABLE_AUTOUPDATER", "1"),
        pair("DISABLE_TELEMETRY", "1"),
        pair("DISABLE_ERROR_REPORTING", "1"),
        pair("CLAUDE_CODE_MAX_RETRIES", "1"),
    ])
}

/// Codex: `CODEX_HOME` under `home` with a `config.toml` pointing at the fake.
pub fn codex_env(home: &Path, llm_url: &str) -> io::Result<Env> {
    let codex_home = home.join(".codex");
    fs::create_dir_all(&codex_home)?;
    let config = format!(
        r#"model = "{CODEX_MODEL}"
model_provider = "fake"
approval_policy = "never"
sandbox_mode = "workspace-write"
check_for_update_on_startup = false

[model_providers.fake]
name = "Fake"
base_url = "{llm_url}/v1"
env_key = "FAKE_OPENAI_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false

[features]
plugins = false
"#
    );
    fs::write(codex_home.join("config.toml"), config)?;
    Ok(vec![
        pair("HOME", path_str(home)),
        pair("CODEX_HOME", path_str(&codex_home)),
        pair("FAKE_OPENAI_KEY", "sk-fake"),
    ])
}
