//! `WWW-Authenticate` as RFC 7235 defines it: one or more challenges, each a scheme and
//! parameters whose values may be quoted strings holding commas (`scope="repository:x:pull,push"`,
//! which breaks az's parser).

/// One challenge: `Bearer realm="…",service="…"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// As sent; compare with [`Challenge::is`].
    pub scheme: String,
    /// Parameter names in lower case, values unquoted.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// At most this many challenges are read from one response, and this many parameters from one
/// challenge: real registries send one or two challenges with three or four parameters, and the
/// report lists the schemes it saw, so a hostile registry must not make that list endless.
pub const MAX_CHALLENGES: usize = 16;
pub const MAX_PARAMS: usize = 32;

/// Every challenge in the header values (a response may send several headers), up to
/// [`MAX_CHALLENGES`].
pub fn parse<'a>(headers: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut all = Vec::new();
    for header in headers {
        if all.len() == MAX_CHALLENGES {
            break;
        }
        let room = MAX_CHALLENGES - all.len();
        all.extend(parse_one(header, room));
    }
    all
}

fn parse_one(header: &str, room: usize) -> Vec<Challenge> {
    let mut lexer = Lexer {
        chars: header.chars().collect(),
        at: 0,
    };
    let mut challenges: Vec<Challenge> = Vec::new();
    loop {
        lexer.skip(|c| c == ',' || c.is_whitespace());
        let Some(word) = lexer.token() else { break };
        lexer.skip(char::is_whitespace);
        if lexer.peek() == Some('=') && !challenges.is_empty() {
            // A parameter of the current challenge.
            lexer.at += 1;
            lexer.skip(char::is_whitespace);
            let value = if lexer.peek() == Some('"') {
                lexer.quoted()
            } else {
                lexer.token().unwrap_or_default()
            };
            if let Some(current) = challenges.last_mut()
                && current.params.len() < MAX_PARAMS
            {
                current.params.push((word.to_ascii_lowercase(), value));
            }
        } else {
            if challenges.len() == room {
                break;
            }
            challenges.push(Challenge {
                scheme: word,
                params: Vec::new(),
            });
            // A token68 (`Negotiate abc==`) is kept as an unnamed parameter.
            let before = lexer.at;
            if let Some(token68) = lexer.token68() {
                if let Some(current) = challenges.last_mut() {
                    current.params.push((String::new(), token68));
                }
            } else {
                lexer.at = before;
            }
        }
    }
    challenges
}

struct Lexer {
    chars: Vec<char>,
    at: usize,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip(&mut self, what: impl Fn(char) -> bool) {
        while self.peek().is_some_and(&what) {
            self.at += 1;
        }
    }

    /// RFC 7230 `token`.
    fn token(&mut self) -> Option<String> {
        let start = self.at;
        self.skip(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~/:".contains(c));
        (self.at > start).then(|| self.chars[start..self.at].iter().collect())
    }

    /// A quoted string, with `\` escapes; an unterminated one runs to the end.
    fn quoted(&mut self) -> String {
        self.at += 1;
        let mut value = String::new();
        while let Some(c) = self.peek() {
            self.at += 1;
            match c {
                '"' => break,
                '\\' => {
                    if let Some(next) = self.peek() {
                        value.push(next);
                        self.at += 1;
                    }
                }
                other => value.push(other),
            }
        }
        value
    }

    /// `token68` right after a scheme (`Negotiate YWJj==`), but not the start of a parameter
    /// (`realm=…`).
    fn token68(&mut self) -> Option<String> {
        self.skip(char::is_whitespace);
        let start = self.at;
        self.skip(|c| c.is_ascii_alphanumeric() || "-._~+/".contains(c));
        if self.at == start {
            return None;
        }
        let mut end = self.at;
        while self.chars.get(end) == Some(&'=') {
            end += 1;
        }
        // What follows, without copying it: copying the rest of the header for every word made
        // a header of many words quadratic (a 400 KB header took a minute).
        let next = self.chars[end..].iter().find(|c| !c.is_whitespace());
        if matches!(next, None | Some(',')) {
            self.at = end;
            Some(self.chars[start..end].iter().collect())
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(header: &str) -> Challenge {
        let mut all = parse([header]);
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }

    #[test]
    fn an_acr_bearer_challenge() {
        let c = one(
            r#"Bearer realm="https://example.azurecr.io/oauth2/token",service="example.azurecr.io""#,
        );
        assert!(c.is("bearer"));
        assert_eq!(
            c.param("realm"),
            Some("https://example.azurecr.io/oauth2/token")
        );
        assert_eq!(c.param("service"), Some("example.azurecr.io"));
    }

    #[test]
    fn quoted_values_may_hold_commas_colons_and_escapes() {
        let c = one(
            r#"Bearer realm="https://a/t", service="a:5000", scope="repository:x/y:pull,push", error="insufficient_scope", note="say \"hi\"""#,
        );
        assert_eq!(c.param("service"), Some("a:5000"));
        assert_eq!(c.param("scope"), Some("repository:x/y:pull,push"));
        assert_eq!(c.param("error"), Some("insufficient_scope"));
        assert_eq!(c.param("note"), Some("say \"hi\""));
    }

    #[test]
    fn scheme_and_names_are_case_insensitive_and_values_may_be_tokens() {
        let c = one("bearer REALM=https://a/t,Service=a");
        assert!(c.is("Bearer"));
        assert_eq!(c.param("realm"), Some("https://a/t"));
        assert_eq!(c.param("service"), Some("a"));
    }

    #[test]
    fn several_challenges_in_one_header_and_in_several() {
        let all = parse([
            r#"Basic realm="reg", Bearer realm="https://a/t",service="a""#,
            "Negotiate",
        ]);
        let schemes: Vec<&str> = all.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["Basic", "Bearer", "Negotiate"]);
        assert_eq!(all[0].param("realm"), Some("reg"));
        assert_eq!(all[1].param("service"), Some("a"));
    }

    #[test]
    fn bearer_without_parameters_and_token68() {
        assert_eq!(one("Bearer").params, vec![]);
        assert_eq!(
            one("Negotiate YWJj==").params,
            vec![(String::new(), "YWJj==".to_owned())]
        );
    }

    #[test]
    fn a_header_of_many_words_is_bounded() {
        // Before: 100 KB of `a a a …` took 3.9 s (each word copied the rest of the header), and
        // HTTP/1.1 lets 400 KB of headers through; now the copy is gone and the parser stops at
        // MAX_CHALLENGES.
        let header = "a ".repeat(200_000);
        let all = parse([header.as_str()]);
        assert_eq!(all.len(), MAX_CHALLENGES);
        // Nor when each word is a parameter.
        let header = format!("Bearer {}", "a=b, ".repeat(100_000));
        let all = parse([header.as_str(), "Basic"]);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].params.len(), MAX_PARAMS);
    }

    #[test]
    fn the_number_of_challenges_and_parameters_is_bounded() {
        // Before: every word of the header was a challenge, and the report listed them all.
        let many = "Basic, ".repeat(100);
        let all = parse([many.as_str(), r#"Bearer realm="x""#]);
        assert_eq!(all.len(), MAX_CHALLENGES);
        assert!(all.iter().all(|c| c.is("basic")));
        let split: Vec<&str> = std::iter::repeat_n("Basic", 20).collect();
        assert_eq!(parse(split).len(), MAX_CHALLENGES);
    }

    #[test]
    fn garbage_never_panics() {
        for header in [
            "",
            ",,,",
            "=",
            "\"",
            "Bearer realm=\"unterminated",
            "Bearer =x",
            "Bearer realm==",
            "\u{0}\u{ff}é",
        ] {
            let _ = parse([header]);
        }
    }
}
