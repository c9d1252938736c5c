//! What the dashboard takes from its environment, read once at start so that `update`
//! stays a function of its state and message.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// `$SHELL`, for `s`.
    pub shell: String,
    /// `$VISUAL`, else `$EDITOR`, as written: a command line such as `code -w`.
    pub editor: String,
    /// `$HOME`, for a `~` in a typed directory.
    pub home: Option<PathBuf>,
}

impl Default for Environment {
    fn default() -> Self {
        Environment {
            shell: "sh".into(),
            editor: "vi".into(),
            home: None,
        }
    }
}

impl Environment {
    pub fn from_env() -> Environment {
        let var = |name| {
            std::env::var(name)
                .ok()
                .filter(|v: &String| !v.trim().is_empty())
        };
        let default = Environment::default();
        Environment {
            shell: var("SHELL").unwrap_or(default.shell),
            editor: var("VISUAL")
                .or_else(|| var("EDITOR"))
                .unwrap_or(default.editor),
            home: std::env::var_os("HOME").map(PathBuf::from),
        }
    }

    /// The editor's program and arguments, split as a shell would split them.
    pub fn editor_argv(&self) -> Result<Vec<String>, String> {
        match shell_words::split(&self.editor) {
            Ok(words) if !words.is_empty() => Ok(words),
            Ok(_) => Err("$EDITOR is empty: set it to your editor's command".into()),
            Err(e) => Err(format!(
                "cannot read $VISUAL/$EDITOR `{}`: {e}; fix its quotes",
                self.editor
            )),
        }
    }

    /// `path` with a leading `~` made the home directory.
    pub fn expand_home(&self, path: &str) -> PathBuf {
        match (path.strip_prefix("~/"), &self.home) {
            (Some(rest), Some(home)) => home.join(rest),
            (None, Some(home)) if path == "~" => home.clone(),
            _ => PathBuf::from(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_editor_with_arguments_is_split_as_a_shell_would() {
        let env = |editor: &str| Environment {
            editor: editor.into(),
            ..Environment::default()
        };
        assert_eq!(
            env("code -w").editor_argv(),
            Ok(vec!["code".into(), "-w".into()])
        );
        let quoted = env("'/opt/My Editor/bin/ed' --wait");
        let want = vec!["/opt/My Editor/bin/ed".to_string(), "--wait".into()];
        assert_eq!(quoted.editor_argv(), Ok(want));
        let broken = env("vim '-c").editor_argv().expect_err("unbalanced quote");
        assert!(broken.contains("fix its quotes"), "{broken}");
    }

    #[test]
    fn a_tilde_is_the_home_directory() {
        let env = Environment {
            home: Some("/home/dev".into()),
            ..Environment::default()
        };
        assert_eq!(env.expand_home("~/src"), PathBuf::from("/home/dev/src"));
        assert_eq!(env.expand_home("~"), PathBuf::from("/home/dev"));
        assert_eq!(env.expand_home("/srv/~x"), PathBuf::from("/srv/~x"));
    }
}
