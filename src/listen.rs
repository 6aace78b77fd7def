//! Binding the `--web.listen-address` sockets as Go exporters bind them: the
//! IPv6 wildcard `[::]` (what `:PORT` means) accepts IPv4 too, and a host
//! without IPv6 gets the IPv4 wildcard instead.

use std::net::{Ipv4Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

/// Pending connections the kernel queues per listener.
const BACKLOG: i32 = 1024;

/// The listening sockets systemd passed (socket activation: `LISTEN_PID`,
/// `LISTEN_FDS`), in order; an error when there are none or one is not a TCP
/// socket.
pub fn systemd_sockets() -> Result<Vec<TcpListener>, String> {
    let mut fds = listenfd::ListenFd::from_env();
    if fds.len() == 0 {
        return Err(
            "--web.systemd-socket: systemd passed no socket (LISTEN_FDS is unset or not for this process); start the exporter from a socket unit, or drop the flag".into(),
        );
    }
    (0..fds.len())
        .map(|i| {
            let listener = fds
                .take_tcp_listener(i)
                .map_err(|e| format!("--web.systemd-socket: socket {i}: {e}"))?
                .ok_or_else(|| format!("--web.systemd-socket: socket {i} was taken already"))?;
            listener
                .set_nonblocking(true)
                .and_then(|()| TcpListener::from_std(listener))
                .map_err(|e| format!("--web.systemd-socket: socket {i}: {e}"))
        })
        .collect()
}

/// Binds every address, in order; the error names the address that failed.
pub fn bind_all(addresses: &[SocketAddr]) -> Result<Vec<TcpListener>, String> {
    addresses
        .iter()
        .map(|&address| bind(address).map_err(|e| format!("cannot listen on {address}: {e}")))
        .collect()
}

/// Binds one address: `[::]` dual-stack, falling back to `0.0.0.0` when the
/// host has no IPv6.
pub fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let wildcard_v6 = address.is_ipv6() && address.ip().is_unspecified();
    match bind_socket(address, wildcard_v6) {
        Err(err) if wildcard_v6 && no_ipv6(&err) => bind_socket(
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, address.port())),
            false,
        ),
        other => other,
    }
}

fn bind_socket(address: SocketAddr, dual_stack: bool) -> std::io::Result<TcpListener> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    if dual_stack {
        socket.set_only_v6(false)?;
    }
    // As the standard library and Go do on Unix: a restart can bind at once.
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    socket.listen(BACKLOG)?;
    TcpListener::from_std(socket.into())
}

/// Whether an error says the host has no IPv6 (the address family is not
/// supported, or no IPv6 address can be bound).
fn no_ipv6(err: &std::io::Error) -> bool {
    // EAFNOSUPPORT (97) and EADDRNOTAVAIL (99) on Linux.
    matches!(err.raw_os_error(), Some(97 | 99))
        || err.kind() == std::io::ErrorKind::AddrNotAvailable
        || err.kind() == std::io::ErrorKind::Unsupported
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_wildcard_accepts_ipv4_and_ipv6() {
        let listener = bind("[::]:0".parse().unwrap()).unwrap();
        let local = listener.local_addr().unwrap();
        assert!(local.is_ipv6(), "this host has IPv6: no fallback expected");
        let port = local.port();
        for client in ["127.0.0.1", "[::1]"] {
            let connect = tokio::net::TcpStream::connect(format!("{client}:{port}"));
            let (accepted, connected) = tokio::join!(listener.accept(), connect);
            accepted.unwrap();
            connected.unwrap();
        }
    }
}
