//! What a registry's token service answers: the token in its JSON.

use serde_json::Value;

/// The token named `field` in a token endpoint's answer. The Docker token specification names an
/// access token `token` or `access_token` (the same token, either or both), so for those two
/// names the other is read too; a refresh token is only `refresh_token`.
pub fn token_in_answer<'a>(json: &'a Value, field: &str) -> Option<&'a str> {
    let names: &[&str] = match field {
        "token" => &["token", "access_token"],
        "access_token" => &["access_token", "token"],
        _ => &[],
    };
    std::iter::once(field)
        .chain(names.iter().copied())
        .find_map(|name| json.get(name).and_then(Value::as_str))
        .filter(|token| !token.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_access_token_is_token_or_access_token_and_a_refresh_token_is_only_itself() {
        let both = json!({"token": "t", "access_token": "a"});
        assert_eq!(token_in_answer(&both, "token"), Some("t"));
        assert_eq!(token_in_answer(&both, "access_token"), Some("a"));
        assert_eq!(
            token_in_answer(&json!({"access_token": "a"}), "token"),
            Some("a")
        );
        assert_eq!(
            token_in_answer(&json!({"token": "t"}), "access_token"),
            Some("t")
        );
        assert_eq!(token_in_answer(&json!({"token": ""}), "token"), None);
        assert_eq!(
            token_in_answer(&json!({"access_token": "a"}), "refresh_token"),
            None
        );
        assert_eq!(
            token_in_answer(&json!({"refresh_token": "r"}), "refresh_token"),
            Some("r")
        );
    }
}
