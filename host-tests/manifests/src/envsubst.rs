//! GNU `envsubst`'s substitution, as the walkthroughs use it, with one difference that is the
//! point of the checks: a variable with no value is an error here, where envsubst renders it
//! empty (an empty secret in Envoy's configuration, an empty namespace in a manifest).

/// Replaces `$NAME` and `${NAME}` in `template` by `value(NAME)`. With `listed` (envsubst's
/// SHELL-FORMAT argument, e.g. `'$KEY_VAULT_NAME $IDENTITY_HEADER'`), only those names are
/// replaced and every other reference is left as it is. Fails on the first replaced name that
/// has no value, naming it.
pub fn envsubst(
    template: &str,
    listed: Option<&[&str]>,
    value: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut rendered = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        rendered.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let (name, braced) = match after.strip_prefix('{') {
            Some(inner) => (variable_name(inner), true),
            None => (variable_name(after), false),
        };
        let closed = !braced || after[1 + name.len()..].starts_with('}');
        let reference_len = 1 + name.len() + if braced { 2 } else { 0 };
        let replaced = !name.is_empty() && closed && listed.is_none_or(|l| l.contains(&name));
        if replaced {
            let substitute =
                value(name).ok_or_else(|| format!("${{{name}}} has no value to render with"))?;
            rendered.push_str(&substitute);
            rest = &rest[dollar + reference_len..];
        } else {
            rendered.push('$');
            rest = after;
        }
    }
    rendered.push_str(rest);
    Ok(rendered)
}

/// The shell variable name at the start of `text` (empty when there is none).
fn variable_name(text: &str) -> &str {
    let starts = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !starts {
        return "";
    }
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::envsubst;

    fn values(name: &str) -> Option<String> {
        match name {
            "A" => Some("1".into()),
            "B_2" => Some("two".into()),
            _ => None,
        }
    }

    #[test]
    fn both_forms_are_replaced_and_other_dollars_kept() {
        let rendered = envsubst("x $A ${B_2}y $ 5$ ${A", None, values).unwrap();
        assert_eq!(rendered, "x 1 twoy $ 5$ ${A");
    }

    #[test]
    fn a_variable_without_a_value_is_an_error_naming_it() {
        assert_eq!(
            envsubst("ns: ${NAMESPACE}", None, values),
            Err("${NAMESPACE} has no value to render with".into())
        );
    }

    #[test]
    fn with_a_list_only_the_listed_names_are_replaced() {
        let rendered = envsubst("$A ${B_2} ${C}", Some(&["A"]), values).unwrap();
        assert_eq!(rendered, "1 ${B_2} ${C}");
    }
}
