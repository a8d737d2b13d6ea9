//! Round-trip latency through a server with a client that never sleeps: one connection
//! subscribed to its own subject publishes, then spins on a non-blocking socket until the
//! message comes back. On a VM where waking a parked thread costs tens of microseconds a
//! sleeping client measures its own wake-up; this one measures the server.
//!
//!   cargo run --release --example rtt_spin -- 127.0.0.1:4222 [CA.pem] [COUNT]
//!
//! With a CA file the connection is upgraded to TLS after INFO (as `nats bench --tlsca`).
//! Prints p50/p90/p99 in microseconds.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args
        .first()
        .ok_or("usage: rtt_spin HOST:PORT [CA.pem] [COUNT]")?;
    let ca = args.get(1).filter(|a| a.as_str() != "-");
    let count: usize = args.get(2).map_or(Ok(20_000), |c| c.parse())?;

    let tcp = TcpStream::connect(addr)?;
    tcp.set_nodelay(true)?;
    let mut plain = tcp.try_clone()?;
    let mut info = Vec::new();
    let mut byte = [0u8; 1];
    while !info.ends_with(b"\r\n") {
        plain.read_exact(&mut byte)?;
        info.push(byte[0]);
    }
    let mut stream: Box<dyn ReadWrite> = match ca {
        None => Box::new(tcp),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(ca)? {
                roots.add(c?)?;
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()?
                .with_root_certificates(roots)
                .with_no_client_auth();
            let host = addr.rsplit_once(':').map_or(addr.as_str(), |(h, _)| h);
            let name = ServerName::try_from(host.to_string())?;
            let conn = rustls::ClientConnection::new(Arc::new(config), name)?;
            Box::new(rustls::StreamOwned::new(conn, tcp))
        }
    };
    let tls = ca.is_some();
    stream.write_all(
        format!("CONNECT {{\"verbose\":false,\"tls_required\":{tls}}}\r\nSUB rtt 1\r\nPING\r\n")
            .as_bytes(),
    )?;
    stream.flush()?;
    let mut buf = Vec::new();
    read_until(&mut *stream, &mut buf, b"PONG\r\n", false)?;
    plain.set_nonblocking(true)?;

    let mut lat = Vec::with_capacity(count);
    for _ in 0..count {
        buf.clear();
        let t0 = Instant::now();
        stream.write_all(b"PUB rtt 5\r\nhello\r\n")?;
        stream.flush()?;
        read_until(&mut *stream, &mut buf, b"hello\r\n", true)?;
        lat.push(t0.elapsed().as_nanos() as f64 / 1000.0);
    }
    lat.sort_by(f64::total_cmp);
    let at = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    println!(
        "p50 {:.1} p90 {:.1} p99 {:.1} us ({count} round trips)",
        at(0.5),
        at(0.9),
        at(0.99)
    );
    Ok(())
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// Read until `buf` ends with `end`, spinning on `WouldBlock`; answers the server's PINGs.
fn read_until(
    s: &mut dyn ReadWrite,
    buf: &mut Vec<u8>,
    end: &[u8],
    spin: bool,
) -> std::io::Result<()> {
    let mut tmp = [0u8; 4096];
    while !buf.ends_with(end) {
        match s.read(&mut tmp) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf.extend_from_slice(&tmp[..n]);
                if buf.windows(6).any(|w| w == b"PING\r\n") {
                    s.write_all(b"PONG\r\n")?;
                    s.flush()?;
                    let text = String::from_utf8_lossy(buf).replace("PING\r\n", "");
                    *buf = text.into_bytes();
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock && spin => std::hint::spin_loop(),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
