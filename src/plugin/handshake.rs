//! The go-plugin handshake: how Terraform starts a plugin and learns where to connect.
//!
//! Terraform runs the binary with a magic cookie, the protocol versions it speaks and, for
//! mutual TLS, its client certificate. The plugin checks the cookie (so that running it by hand
//! explains itself instead of serving forever), picks protocol 6, listens, and prints one line
//! on stdout: `1|6|unix|/tmp/plugin….sock|grpc|<server cert, base64 DER>`.
//!
//! Where it listens:
//! - by default a Unix socket under `PLUGIN_UNIX_SOCKET_DIR` or the temp dir, private to the
//!   user: connecting to a Unix socket needs write permission on its file, and nobody else has
//!   it. On Linux the socket is a file of its own, `plugin<random>.sock` with mode 0600 from the
//!   moment it exists: the mode is set on the socket before `bind` creates the file (the kernel
//!   gives the file the socket's mode, less the umask), so there is no window in which another
//!   user could connect, and `bind` never follows a symbolic link nor reuses an existing path.
//!   This is go-plugin's layout (a socket directly in the temp dir) with a stricter mode. It
//!   replaced a private 0700 directory holding the socket, which cost every launch a directory
//!   block allocated and, at exit, freed (and discarded, on ext4) again: ~10 % of a launch's
//!   CPU (issue 22). In a shared directory with the sticky bit (`/tmp`), others cannot remove or
//!   replace the socket either; where they can (a world-writable `PLUGIN_UNIX_SOCKET_DIR`
//!   without it), a socket put in its place would still fail Terraform's mutual TLS, which pins
//!   the certificate printed in the handshake line. Elsewhere (macOS, the BSDs: the mode of a
//!   socket cannot be set before `bind`) the socket sits in a fresh 0700 directory instead.
//!   Either is removed when [`SocketPath`] is dropped, on every exit path;
//! - over TCP on 127.0.0.1, within `PLUGIN_MIN_PORT..=PLUGIN_MAX_PORT`, when
//!   `<TYPE NAME>_PLUGIN_TRANSPORT=tcp` (`CSMS_PLUGIN_TRANSPORT=tcp` for the `csms` provider),
//!   and always on platforms without Unix sockets. Accepted connections get TCP_NODELAY:
//!   without it every Terraform call stalls about 40 ms on delayed ACKs.

use std::io;

use base64::Engine;
use rustls_pki_types::CertificateDer;

/// go-plugin's core protocol version, the first field of the handshake line.
const CORE_PROTOCOL_VERSION: u32 = 1;
/// The Terraform plugin protocol this server speaks.
pub const PROTOCOL_VERSION: u32 = 6;

/// Terraform's handshake cookie (the same for every provider).
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// Why the plugin cannot start serving.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// go-plugin's own words, so users recognise them.
    #[error(
        "This binary is a plugin. These are not meant to be executed directly.\n\
         Please execute the program that consumes these plugins, which will\n\
         load any plugins automatically"
    )]
    NotLaunchedByPluginHost,
    #[error(
        "This provider speaks Terraform plugin protocol 6, which Terraform 1.0 and later and \
         OpenTofu support, but the host offered only protocol versions {offered:?} \
         (PLUGIN_PROTOCOL_VERSIONS). Upgrade Terraform to 1.0 or later."
    )]
    Protocol6NotOffered { offered: String },
    #[error("{name}={value:?} is not a port number")]
    InvalidPort { name: &'static str, value: String },
    #[error("cannot listen on 127.0.0.1 on any port in {min}..={max}")]
    NoFreePort { min: u16, max: u16 },
    #[error("cannot create the plugin socket: {0}")]
    Listen(#[from] io::Error),
}

/// Checks that Terraform (or another go-plugin host) started the binary.
pub fn check_cookie(var: impl Fn(&str) -> Option<String>) -> Result<(), HandshakeError> {
    match var(MAGIC_COOKIE_KEY) {
        Some(v) if v == MAGIC_COOKIE_VALUE => Ok(()),
        _ => Err(HandshakeError::NotLaunchedByPluginHost),
    }
}

/// Checks that the host offers protocol 6. A host that sends no list (go-plugin before
/// versioned plugins) gets protocol 6 and judges the handshake line itself, as with go-plugin.
pub fn negotiate_protocol(var: impl Fn(&str) -> Option<String>) -> Result<u32, HandshakeError> {
    let Some(offered) = var("PLUGIN_PROTOCOL_VERSIONS").filter(|v| !v.is_empty()) else {
        return Ok(PROTOCOL_VERSION);
    };
    let speaks_6 = offered
        .split(',')
        .any(|v| v.trim().parse() == Ok(PROTOCOL_VERSION));
    if speaks_6 {
        Ok(PROTOCOL_VERSION)
    } else {
        Err(HandshakeError::Protocol6NotOffered { offered })
    }
}

/// Where the server listens, as the handshake line and the reattach config name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// `unix` or `tcp`, Go's network names.
    pub network: &'static str,
    pub address: String,
}

/// The one line printed on stdout (with its newline). Without TLS the last field is empty, as
/// go-plugin prints it.
pub fn handshake_line(address: &Address, server_cert: Option<&CertificateDer<'_>>) -> String {
    let cert = server_cert
        .map(|c| base64::engine::general_purpose::STANDARD_NO_PAD.encode(c.as_ref()))
        .unwrap_or_default();
    format!(
        "{CORE_PROTOCOL_VERSION}|{PROTOCOL_VERSION}|{}|{}|grpc|{cert}\n",
        address.network, address.address
    )
}

/// Whether to listen on a Unix socket or TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    #[cfg(unix)]
    Unix,
    Tcp,
}

/// The transport asked for by `<TYPE NAME>_PLUGIN_TRANSPORT` (`tcp` or `unix`); Unix sockets
/// where the platform has them otherwise.
pub fn transport(type_name: &str, var: impl Fn(&str) -> Option<String>) -> Transport {
    let name = format!("{}_PLUGIN_TRANSPORT", type_name.to_ascii_uppercase());
    match var(&name) {
        Some(v) if v.eq_ignore_ascii_case("tcp") => Transport::Tcp,
        #[cfg(unix)]
        _ => Transport::Unix,
        #[cfg(not(unix))]
        _ => Transport::Tcp,
    }
}

/// The Unix socket's file (and, outside Linux, its private directory); removed when dropped.
#[derive(Debug)]
pub struct SocketPath {
    #[cfg(target_os = "linux")]
    _file: Option<tempfile::TempPath>,
    #[cfg(not(target_os = "linux"))]
    _dir: Option<tempfile::TempDir>,
}

impl SocketPath {
    fn none() -> SocketPath {
        SocketPath {
            #[cfg(target_os = "linux")]
            _file: None,
            #[cfg(not(target_os = "linux"))]
            _dir: None,
        }
    }
}

/// A bound listener.
#[derive(Debug)]
pub enum Listener {
    #[cfg(unix)]
    Unix(tokio::net::UnixListener),
    Tcp(tokio::net::TcpListener),
}

/// An accepted connection, before TLS.
pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Io for T {}

impl Listener {
    pub async fn accept(&self) -> io::Result<Box<dyn Io>> {
        match self {
            #[cfg(unix)]
            Listener::Unix(l) => Ok(Box::new(l.accept().await?.0)),
            Listener::Tcp(l) => {
                let (stream, _) = l.accept().await?;
                stream.set_nodelay(true)?;
                Ok(Box::new(stream))
            }
        }
    }
}

/// Binds the listener for `transport`. Must run inside the tokio runtime.
pub fn listen(
    transport: Transport,
    var: impl Fn(&str) -> Option<String>,
) -> Result<(Listener, Address, SocketPath), HandshakeError> {
    match transport {
        #[cfg(unix)]
        Transport::Unix => {
            let parent: std::path::PathBuf = var("PLUGIN_UNIX_SOCKET_DIR")
                .filter(|d| !d.is_empty())
                .map_or_else(std::env::temp_dir, Into::into);
            let (listener, path, socket_path) = bind_private_socket(&parent)?;
            let address = Address {
                network: "unix",
                address: path.to_string_lossy().into_owned(),
            };
            Ok((
                Listener::Unix(tokio::net::UnixListener::from_std(listener)?),
                address,
                socket_path,
            ))
        }
        Transport::Tcp => {
            let (min, max) = port_range(&var)?;
            let listener = bind_tcp(min, max)?;
            let address = Address {
                network: "tcp",
                address: listener.local_addr()?.to_string(),
            };
            Ok((Listener::Tcp(listener), address, SocketPath::none()))
        }
    }
}

/// A listening Unix socket, its path and what removes it.
#[cfg(unix)]
type PrivateSocket = (
    std::os::unix::net::UnixListener,
    std::path::PathBuf,
    SocketPath,
);

/// A listening socket `plugin<random>.sock` in `parent`, mode 0600 before it exists (see the
/// module documentation).
#[cfg(target_os = "linux")]
fn bind_private_socket(parent: &std::path::Path) -> io::Result<PrivateSocket> {
    use socket2::{Domain, SockAddr, Socket, Type};
    use std::os::fd::AsRawFd;
    let file = tempfile::Builder::new()
        .prefix("plugin")
        .suffix(".sock")
        .make_in(parent, |path| {
            let socket = Socket::new(Domain::UNIX, Type::STREAM.nonblocking(), None)?;
            // SAFETY: fchmod on a descriptor this function owns.
            if unsafe { libc::fchmod(socket.as_raw_fd(), 0o600) } != 0 {
                return Err(io::Error::last_os_error());
            }
            match socket.bind(&SockAddr::unix(path)?) {
                // Taken: `make_in` tries another random name.
                Err(err) if err.kind() == io::ErrorKind::AddrInUse => {
                    Err(io::ErrorKind::AlreadyExists.into())
                }
                bound => bound.map(|()| socket),
            }
        })?;
    let (socket, file) = file.into_parts();
    socket.listen(1024)?;
    let path = file.to_path_buf();
    Ok((socket.into(), path, SocketPath { _file: Some(file) }))
}

/// A listening socket in a fresh 0700 directory under `parent`: outside Linux the mode of a
/// socket cannot be set before `bind` creates its file.
#[cfg(all(unix, not(target_os = "linux")))]
fn bind_private_socket(parent: &std::path::Path) -> io::Result<PrivateSocket> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("plugin")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(parent)?;
    let path = dir.path().join("plugin.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path)?;
    listener.set_nonblocking(true)?;
    Ok((listener, path, SocketPath { _dir: Some(dir) }))
}

/// `PLUGIN_MIN_PORT..=PLUGIN_MAX_PORT`; both unset means any port (0), as in go-plugin.
fn port_range(var: &impl Fn(&str) -> Option<String>) -> Result<(u16, u16), HandshakeError> {
    let port = |name: &'static str| -> Result<u16, HandshakeError> {
        match var(name).filter(|v| !v.is_empty()) {
            None => Ok(0),
            Some(value) => value
                .trim()
                .parse()
                .map_err(|_| HandshakeError::InvalidPort { name, value }),
        }
    };
    let (min, max) = (port("PLUGIN_MIN_PORT")?, port("PLUGIN_MAX_PORT")?);
    Ok((min, max.max(min)))
}

/// Binds the first free port of the range, starting at a random offset so that the 3 or 4
/// processes Terraform starts at once do not all race for the same port.
fn bind_tcp(min: u16, max: u16) -> Result<tokio::net::TcpListener, HandshakeError> {
    let span = u32::from(max - min) + 1;
    let start = fastrand::u32(0..span);
    for i in 0..span {
        let port = min + ((start + i) % span) as u16;
        if let Ok(listener) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            listener.set_nonblocking(true)?;
            return Ok(tokio::net::TcpListener::from_std(listener)?);
        }
    }
    Err(HandshakeError::NoFreePort { min, max })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn cookie_must_match() {
        assert!(check_cookie(env(&[(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)])).is_ok());
        let err = check_cookie(env(&[(MAGIC_COOKIE_KEY, "nope")])).unwrap_err();
        assert!(err.to_string().starts_with("This binary is a plugin."));
        assert!(check_cookie(env(&[])).is_err());
    }

    #[test]
    fn protocol_6_must_be_offered() {
        let offered = |v| negotiate_protocol(env(v));
        assert_eq!(offered(&[("PLUGIN_PROTOCOL_VERSIONS", "5,6")]).unwrap(), 6);
        assert_eq!(offered(&[("PLUGIN_PROTOCOL_VERSIONS", "6")]).unwrap(), 6);
        assert_eq!(offered(&[]).unwrap(), 6);
        let err = offered(&[("PLUGIN_PROTOCOL_VERSIONS", "4,5")]).unwrap_err();
        assert!(err.to_string().contains("protocol 6"), "{err}");
        assert!(err.to_string().contains("\"4,5\""), "{err}");
    }

    #[test]
    fn handshake_line_is_go_plugins() {
        let unix = Address {
            network: "unix",
            address: "/tmp/plugin1/plugin.sock".into(),
        };
        let cert = CertificateDer::from(vec![0xfb, 0xff, 0x00, 0x01]);
        assert_eq!(
            handshake_line(&unix, Some(&cert)),
            "1|6|unix|/tmp/plugin1/plugin.sock|grpc|+/8AAQ\n"
        );
        let tcp = Address {
            network: "tcp",
            address: "127.0.0.1:10001".into(),
        };
        assert_eq!(
            handshake_line(&tcp, None),
            "1|6|tcp|127.0.0.1:10001|grpc|\n"
        );
    }

    #[tokio::test]
    async fn ports_come_from_the_range() {
        assert_eq!(port_range(&env(&[])).unwrap(), (0, 0));
        let range = env(&[("PLUGIN_MIN_PORT", "10000"), ("PLUGIN_MAX_PORT", "25000")]);
        assert_eq!(port_range(&range).unwrap(), (10000, 25000));
        assert!(port_range(&env(&[("PLUGIN_MIN_PORT", "x")])).is_err());
        let listener = bind_tcp(20000, 20100).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!((20000..=20100).contains(&port));
    }

    #[test]
    fn transport_is_unix_unless_tcp_is_asked_for() {
        assert_eq!(transport("csms", env(&[])), Transport::Unix);
        assert_eq!(
            transport("csms", env(&[("CSMS_PLUGIN_TRANSPORT", "TCP")])),
            Transport::Tcp
        );
    }

    #[tokio::test]
    async fn the_socket_is_private_and_removed_on_drop() {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().to_string_lossy().into_owned();
        let var = move |name: &str| (name == "PLUGIN_UNIX_SOCKET_DIR").then(|| dir.clone());
        let (_listener, address, socket) = listen(Transport::Unix, &var).unwrap();
        let (_second, second_address, _second_path) = listen(Transport::Unix, &var).unwrap();
        assert_ne!(address, second_address);
        let path = std::path::PathBuf::from(&address.address);
        assert!(path.starts_with(parent.path()));
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_socket());
        #[cfg(target_os = "linux")]
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        #[cfg(not(target_os = "linux"))]
        assert_eq!(
            std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        drop(socket);
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 1);
    }
}
