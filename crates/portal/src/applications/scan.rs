//! The malware-scan hook for uploads (U1): every uploaded file passes a [`Scanner`] before the
//! forms engine sees it. Operators switch on ClamAV by giving the address of a `clamd`
//! (`portal.clamd_address`); without one, files are not scanned and the log says so at start.

use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a scan found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// The scanner's name for what it found (e.g. `Eicar-Test-Signature`).
    Infected(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("the virus scanner cannot be reached: {0}")]
    Unavailable(String),
    #[error("the virus scanner answered something unexpected")]
    Protocol,
}

#[async_trait]
pub trait Scanner: Send + Sync + std::fmt::Debug {
    async fn scan(&self, content: &[u8]) -> Result<Verdict, ScanError>;
}

/// A `clamd` reached over TCP, using its `INSTREAM` command.
#[derive(Debug, Clone)]
pub struct Clamd {
    pub address: String,
    pub timeout: Duration,
}

/// Chunks sent to clamd; its default `StreamMaxLength` is 25 MB in total.
const CHUNK: usize = 64 * 1024;

#[async_trait]
impl Scanner for Clamd {
    async fn scan(&self, content: &[u8]) -> Result<Verdict, ScanError> {
        tokio::time::timeout(self.timeout, self.instream(content))
            .await
            .map_err(|_| ScanError::Unavailable("timed out".into()))?
    }
}

impl Clamd {
    async fn instream(&self, content: &[u8]) -> Result<Verdict, ScanError> {
        let unavailable = |e: std::io::Error| ScanError::Unavailable(e.kind().to_string());
        let mut stream = TcpStream::connect(&self.address)
            .await
            .map_err(unavailable)?;
        stream
            .write_all(b"zINSTREAM\0")
            .await
            .map_err(unavailable)?;
        for chunk in content.chunks(CHUNK) {
            let len = u32::try_from(chunk.len()).map_err(|_| ScanError::Protocol)?;
            stream
                .write_all(&len.to_be_bytes())
                .await
                .map_err(unavailable)?;
            stream.write_all(chunk).await.map_err(unavailable)?;
        }
        stream
            .write_all(&0u32.to_be_bytes())
            .await
            .map_err(unavailable)?;
        let mut reply = Vec::new();
        stream
            .take(4096)
            .read_to_end(&mut reply)
            .await
            .map_err(unavailable)?;
        parse_reply(&reply)
    }
}

/// `stream: OK`, `stream: <name> FOUND`, or an error such as `INSTREAM size limit exceeded`.
fn parse_reply(reply: &[u8]) -> Result<Verdict, ScanError> {
    let text = String::from_utf8_lossy(reply);
    let text = text.trim_end_matches(['\0', '\n']).trim();
    let body = text.strip_prefix("stream: ").ok_or(ScanError::Protocol)?;
    if body == "OK" {
        return Ok(Verdict::Clean);
    }
    match body.strip_suffix(" FOUND") {
        Some(name) => Ok(Verdict::Infected(name.chars().take(100).collect())),
        None => Err(ScanError::Protocol),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn clamd_replies_are_read() {
        assert_eq!(parse_reply(b"stream: OK\0").unwrap(), Verdict::Clean);
        assert_eq!(
            parse_reply(b"stream: Eicar-Test-Signature FOUND\0").unwrap(),
            Verdict::Infected("Eicar-Test-Signature".into())
        );
        assert!(parse_reply(b"INSTREAM size limit exceeded. ERROR\0").is_err());
        assert!(parse_reply(b"").is_err());
    }
}
