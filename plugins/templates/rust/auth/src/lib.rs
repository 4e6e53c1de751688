//! `{{name}}`: a Warden auth provider that accepts static tokens, each mapped to a
//! principal. The token is read from `Authorization: Bearer TOKEN`, or from the
//! header named by `header`.
//!
//! Config, the `config` table of its `[[plugins]]` entry (keep tokens out of the file
//! with `${ENV_VAR}` interpolation):
//! `config = { tokens = [{ token = "${TEAM_TOKEN}", principal = "team", scopes = ["demo/*"] }] }`

use serde::Deserialize;
use warden_plugin_sdk::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// `authorization` (a bearer token) or the name of another header.
    #[serde(default = "default_header")]
    header: String,
    tokens: Vec<Token>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Token {
    token: String,
    principal: String,
    #[serde(default)]
    project: Option<String>,
    /// `SERVER/TOOL` globs the caller may use; everything when absent.
    #[serde(default = "everything")]
    scopes: Vec<String>,
}

fn default_header() -> String {
    "authorization".into()
}

fn everything() -> Vec<String> {
    vec!["*".into()]
}

struct StaticTokens(Config);

impl Auth for StaticTokens {
    fn describe() -> PluginInfo {
        PluginInfo::provider("{{name}}", env!("CARGO_PKG_VERSION"), "Static tokens mapped to principals")
    }

    fn configure(config_json: &str) -> Result<Self, String> {
        let mut config: Config = parse_config(config_json)?;
        config.header = config.header.to_ascii_lowercase();
        for (i, t) in config.tokens.iter().enumerate() {
            if t.token.trim().is_empty() {
                return Err(format!("tokens[{i}].token is empty"));
            }
            if t.principal.is_empty() {
                return Err(format!("tokens[{i}].principal is empty"));
            }
        }
        Ok(StaticTokens(config))
    }

    fn authenticate(&self, request: &AuthRequest) -> Result<Principal, AuthError> {
        let presented = match self.0.header.as_str() {
            "authorization" => request.bearer(),
            name => request.header(name).map(str::trim),
        };
        // No token this provider reads: let the next provider of the chain try.
        let Some(presented) = presented.filter(|t| !t.is_empty()) else {
            return Err(AuthError::NoCredentials);
        };
        // Compare with every token, so the time taken does not tell which one matched.
        let mut found = None;
        for t in &self.0.tokens {
            if constant_time_eq(t.token.as_bytes(), presented.as_bytes()) {
                found = Some(t);
            }
        }
        // The reason goes to the gateway's log: never include the token.
        let t = found.ok_or_else(|| AuthError::rejected("unknown token"))?;
        let mut principal = Principal::new(&t.principal).scopes(t.scopes.iter().cloned()).attribute("auth", "{{name}}");
        principal.project = t.project.clone();
        Ok(principal)
    }
}

export_auth!(StaticTokens);

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> AuthRequest {
        AuthRequest {
            transport: Transport::Http,
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            client_info: None,
            now_unix: 0,
        }
    }

    #[test]
    fn right_token_wrong_token_no_token() {
        let a = StaticTokens::configure(r#"{"tokens": [{"token": "s3cret-token", "principal": "team"}]}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        let ok = a.authenticate(&request(&[("authorization", "Bearer s3cret-token")]));
        assert_eq!(ok.map(|p| p.id).ok().as_deref(), Some("team"));
        assert!(matches!(a.authenticate(&request(&[("authorization", "Bearer nope")])), Err(AuthError::Rejected(_))));
        assert!(matches!(a.authenticate(&request(&[])), Err(AuthError::NoCredentials)));
    }
}
