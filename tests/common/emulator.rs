//! The emulator as tests start and read it: the `csms-emulator` binary, a second account to
//! audit, and replies with assertions on the emulator's error shapes.

use std::net::SocketAddr;
use std::time::Duration;

use csms_provider::csms::task::TaskPage;
use csms_provider::emulator::{Account, Agency, Project, SecretTask, DEFAULT_DOMAIN_NAME};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

/// Domain name of the second account.
pub const TEAM_B: &str = "team-b";
/// Its domain id.
pub const TEAM_B_ID: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// Account `team-b` with `tasks` in project `project_id` (cn-north-4), and its agency `audit`
/// trusting the default account: a central security team auditing a team's account.
pub fn team_b(
    credentials: Option<(&str, &str)>,
    project_id: &str,
    tasks: Vec<SecretTask>,
) -> (Account, Agency) {
    let account = Account {
        domain_name: TEAM_B.into(),
        domain_id: TEAM_B_ID.into(),
        credentials: credentials.map(|(ak, sk)| (ak.into(), sk.into())),
        projects: vec![Project {
            region: "cn-north-4".into(),
            project_id: project_id.into(),
            tasks,
            secrets: Vec::new(),
        }],
    };
    let agency = Agency {
        name: "audit".into(),
        domain_name: TEAM_B.into(),
        trusted_domain_name: DEFAULT_DOMAIN_NAME.into(),
    };
    (account, agency)
}

/// Starts `csms-emulator ARGS` (stdout and stderr piped, killed on drop) and waits up to 30
/// seconds for its `listening on http://ADDR` line.
pub async fn spawn_binary<I, S>(args: I) -> (tokio::process::Child, SocketAddr)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_csms-emulator"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("csms-emulator starts");
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
        .await
        .expect("a line within 30s")
        .unwrap()
        .expect("a listening line");
    let addr = line
        .strip_prefix("listening on http://")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("not a listening line: {line:?}"));
    (child, addr)
}

/// A response, read whole.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub async fn read(r: reqwest::Response) -> Reply {
        Reply {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.bytes().await.unwrap().to_vec(),
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The start of the body, for assertion messages (pages can be long).
    pub fn head(&self) -> String {
        self.text().chars().take(300).collect()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.head()))
    }

    /// A 200 ListSecretTask page.
    pub fn page(&self) -> TaskPage {
        assert_eq!(self.status, 200, "{}", self.head());
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn request_id(&self) -> &str {
        self.headers["x-request-id"].to_str().unwrap()
    }

    /// Asserts a gateway/CSMS JSON error with this status and code whose request id matches
    /// the header; returns its message.
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "{}", self.head());
        let j = self.json();
        assert_eq!(j["error_code"], code, "{j}");
        assert_eq!(j["request_id"], self.request_id());
        assert_eq!(self.request_id().len(), 32);
        j["error_msg"].as_str().unwrap().to_string()
    }

    /// Asserts IAM's error shape `{"error": {"code", "message", "title"}}`; returns the message.
    pub fn iam_error(&self, status: u16, title: &str) -> String {
        assert_eq!(self.status, status, "{}", self.head());
        let e = &self.json()["error"];
        assert_eq!(e["code"], status, "{e}");
        assert_eq!(e["title"], title, "{e}");
        e["message"].as_str().unwrap().to_string()
    }

    /// The project ids of a 200 IAM project list.
    pub fn project_ids(&self) -> Vec<String> {
        assert_eq!(self.status, 200, "{}", self.head());
        self.json()["projects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    }
}
