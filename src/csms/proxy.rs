//! Which proxy the environment sends a request through, so that an error names it: reqwest
//! follows `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (or their lower-case forms)
//! silently, and a refused tunnel otherwise reads only "tunnel error: unsuccessful". The rules
//! are hyper-util's own matcher, the one reqwest applies, fed with the same variables.

use std::fmt;
use std::time::Duration;

use hyper_util::client::proxy::matcher::Matcher;
use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::text;

/// The proxy variables as read once, with the name each value came from.
#[derive(Debug, Clone, Default)]
pub struct ProxyEnv {
    all: Option<(&'static str, String)>,
    http: Option<(&'static str, String)>,
    https: Option<(&'static str, String)>,
    no: Option<(&'static str, String)>,
}

/// How a request to one URL travels, as far as errors need to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// No proxy variable applies.
    Direct,
    /// `NO_PROXY` exempts the host from the proxy that `var` names.
    Exempt { no: &'static str, var: &'static str },
    /// Through `proxy` (without its user and password), from the variable `var`; `auth`: the
    /// `Proxy-Authorization` the connection presents, for the probe that asks the proxy why.
    Proxy {
        proxy: String,
        var: &'static str,
        auth: Option<String>,
    },
}

impl ProxyEnv {
    /// The variables as curl (and hyper-util) read them: upper case first, then lower case;
    /// none at all under CGI (`REQUEST_METHOD`), where `HTTP_PROXY` may come from a request.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> ProxyEnv {
        if env("REQUEST_METHOD").is_some() {
            return ProxyEnv::default();
        }
        let first = |names: [&'static str; 2]| {
            names
                .into_iter()
                .find_map(|name| env(name).map(|value| (name, value)))
        };
        ProxyEnv {
            all: first(["ALL_PROXY", "all_proxy"]),
            http: first(["HTTP_PROXY", "http_proxy"]),
            https: first(["HTTPS_PROXY", "https_proxy"]),
            no: first(["NO_PROXY", "no_proxy"]),
        }
    }

    /// The route of a request to `url`.
    pub fn route(&self, url: &Url) -> Route {
        let value = |v: &Option<(&'static str, String)>| v.as_ref().map(|(_, s)| s.clone());
        let matcher = Matcher::builder()
            .all(value(&self.all).unwrap_or_default())
            .http(value(&self.http).unwrap_or_default())
            .https(value(&self.https).unwrap_or_default())
            .no(value(&self.no).unwrap_or_default())
            .build();
        let scheme_var = match url.scheme() {
            "https" => &self.https,
            _ => &self.http,
        };
        // The variable that names the proxy: the scheme's own when it parses, else ALL_PROXY.
        let var = [scheme_var, &self.all]
            .into_iter()
            .flatten()
            .find(|(_, v)| !v.trim().is_empty())
            .map(|(name, _)| *name);
        let Ok(uri) = url.as_str().parse::<hyper::Uri>() else {
            return Route::Direct;
        };
        match (matcher.intercept(&uri), var) {
            (Some(intercept), Some(var)) => Route::Proxy {
                proxy: without_userinfo(&intercept.uri().to_string()),
                var,
                auth: intercept
                    .basic_auth()
                    .and_then(|v| v.to_str().ok())
                    .map(String::from),
            },
            (None, Some(var)) => match &self.no {
                Some((no, _)) => Route::Exempt { no, var },
                None => Route::Direct,
            },
            _ => Route::Direct,
        }
    }
}

impl ProxyEnv {
    /// Adds to `message`, the error of a request to `url` that got no answer, which way the
    /// request went when a proxy variable is set: through which proxy, or directly because
    /// `NO_PROXY` exempts the host. A refused tunnel is said as such, with the status the proxy
    /// answers when asked again ([`tunnel_answer`], within `timeout`).
    pub async fn explain(&self, url: &Url, message: &mut String, timeout: Duration) {
        match self.route(url) {
            Route::Direct => {}
            Route::Proxy { proxy, var, auth } if message.contains("tunnel") => {
                let host = url.host_str().unwrap_or_default();
                let answer = tunnel_answer(&proxy, auth.as_deref(), url, timeout).await;
                *message = format!(
                    "the proxy {proxy} (from {var}) refused the tunnel to {host}{}",
                    match answer {
                        Some(status) => format!(": it answered HTTP {status}"),
                        None => String::new(),
                    }
                );
            }
            route => message.push_str(&format!("; sent {route}")),
        }
    }
}

/// `url` without user and password: they are credentials, never shown.
fn without_userinfo(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.as_str().trim_end_matches('/').to_string()
        }
        Err(_) => "(an unparsable proxy URL)".into(),
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::Direct => f.write_str("directly, as no proxy variable is set"),
            Route::Exempt { no, var } => {
                write!(
                    f,
                    "directly: {no} exempts this host from the proxy of {var}"
                )
            }
            Route::Proxy { proxy, var, .. } => write!(f, "through the proxy {proxy} (from {var})"),
        }
    }
}

/// Asks an `http://` proxy for the tunnel to `url` once more, to learn the status line it
/// answers (the connection's own error drops it); `None` when it cannot be learnt within
/// `timeout`. The answer is cleaned and cut: it comes from the network.
pub async fn tunnel_answer(
    proxy: &str,
    auth: Option<&str>,
    url: &Url,
    timeout: Duration,
) -> Option<String> {
    let proxy = Url::parse(proxy).ok().filter(|p| p.scheme() == "http")?;
    let address = (
        proxy.host_str()?.to_string(),
        proxy.port_or_known_default()?,
    );
    let target = format!("{}:{}", url.host_str()?, url.port_or_known_default()?);
    let ask = async {
        let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
        let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
        if let Some(auth) = auth {
            request.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        let mut chunk = [0u8; 512];
        while !answer.contains(&b'\n') && answer.len() < 1024 {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&chunk[..n]);
        }
        let line = String::from_utf8_lossy(&answer);
        let (_, status) = line.lines().next()?.split_once(' ')?;
        Some(text::excerpt(status.trim(), 100))
    };
    tokio::time::timeout(timeout, ask).await.ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> ProxyEnv {
        ProxyEnv::from_env(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn routes_name_the_proxy_without_userinfo_and_the_variable() {
        let url = Url::parse("https://kms.cn-north-4.myhuaweicloud.com/v1").unwrap();
        let e = env(&[("https_proxy", "http://user:secret@proxy.corp:3128")]);
        let route = e.route(&url);
        assert_eq!(
            route.to_string(),
            "through the proxy http://proxy.corp:3128 (from https_proxy)"
        );
        assert!(matches!(&route, Route::Proxy { auth: Some(a), .. } if a.starts_with("Basic ")));
        let e = env(&[("ALL_PROXY", "http://p:8080"), ("HTTP_PROXY", "http://h:1")]);
        assert_eq!(
            e.route(&url).to_string(),
            "through the proxy http://p:8080 (from ALL_PROXY)"
        );
        let e = env(&[
            ("HTTPS_PROXY", "http://p:8080"),
            ("NO_PROXY", ".myhuaweicloud.com"),
        ]);
        assert_eq!(
            e.route(&url).to_string(),
            "directly: NO_PROXY exempts this host from the proxy of HTTPS_PROXY"
        );
        assert_eq!(env(&[]).route(&url), Route::Direct);
        let cgi = env(&[("REQUEST_METHOD", "GET"), ("HTTPS_PROXY", "http://p:1")]);
        assert_eq!(cgi.route(&url), Route::Direct);
    }
}
