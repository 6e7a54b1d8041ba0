//! The shell commands the walkthroughs tell users to run, as text: from a README's `sh` code
//! blocks, and from a manifest's comments (`# Apply with: …` and lines indented under `#   `).
//! A line ending in `\` goes on on the next one.

/// The commands in `markdown`'s `sh`, `bash` and `shell` code blocks (comment lines left out).
pub fn commands_in_markdown(markdown: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_shell = false;
    let mut in_other = false;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            if in_shell || in_other {
                (in_shell, in_other) = (false, false);
            } else if matches!(info.trim(), "sh" | "bash" | "shell") {
                in_shell = true;
            } else {
                in_other = true;
            }
        } else if in_shell && !trimmed.starts_with('#') {
            lines.push(line.trim().to_owned());
        }
    }
    joined(lines)
}

/// The commands in a YAML file's (or Dockerfile's) comments: `# Apply with: COMMAND` and
/// `#   COMMAND` (indented by three spaces or more).
pub fn commands_in_yaml_comments(yaml: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut continuing = false;
    for line in yaml.lines() {
        let Some(comment) = line.trim_start().strip_prefix('#') else {
            continuing = false;
            continue;
        };
        let command = if continuing {
            Some(comment.trim())
        } else if let Some(command) = comment.trim_start().strip_prefix("Apply with:") {
            Some(command.trim())
        } else if comment.starts_with("   ") {
            Some(comment.trim())
        } else {
            None
        };
        match command {
            Some(command) => {
                continuing = command.ends_with('\\');
                lines.push(command.to_owned());
            }
            None => continuing = false,
        }
    }
    joined(lines)
}

/// `lines` with each `\`-ended line joined to the next.
fn joined(lines: Vec<String>) -> Vec<String> {
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in lines {
        match line.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head.trim_end());
                current.push(' ');
            }
            None => {
                current.push_str(&line);
                commands.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.is_empty() {
        commands.push(current);
    }
    commands.retain(|command| !command.trim().is_empty());
    commands
}

#[cfg(test)]
mod tests {
    use super::{commands_in_markdown, commands_in_yaml_comments};

    #[test]
    fn markdown_shell_blocks_give_joined_commands_without_comments() {
        let markdown = "text `kubectl get` here\n```sh\n# a comment\nkubectl -n a \\\n  apply -f -\ncurl x\n```\n```yaml\nkubectl: no\n```\n";
        assert_eq!(
            commands_in_markdown(markdown),
            ["kubectl -n a apply -f -", "curl x"]
        );
    }

    #[test]
    fn yaml_comments_give_apply_lines_and_indented_commands() {
        let yaml = "# Some prose about kubectl.\n# Apply with: envsubst < a.yaml | kubectl apply -f -\n#   kubectl -n x get secret s \\\n#     || kubectl -n x create secret\nkind: Pod\n#   echo done\n";
        assert_eq!(
            commands_in_yaml_comments(yaml),
            [
                "envsubst < a.yaml | kubectl apply -f -",
                "kubectl -n x get secret s || kubectl -n x create secret",
                "echo done",
            ]
        );
    }
}
