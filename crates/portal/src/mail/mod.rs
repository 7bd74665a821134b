//! Outgoing mail: one [`Mailer`] trait, sent over SMTP ([`SmtpMailer`], the `lettre` crate) or
//! written as `.eml` files into a directory ([`FileMailer`], for the demo and tests, so that a
//! person can open the link without a mail server).
//!
//! Logs name the kind of mail and, for files, the file name; never the address, the subject's
//! values or the body (which carries single-use links).

mod compose;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, Message, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use rathaus_domain::Email;
use rathaus_web::Clock;

pub use compose::{MailKind, compose};

/// A message ready to send: plain text, one recipient.
#[derive(Clone)]
pub struct OutgoingMail {
    pub to: Email,
    pub kind: MailKind,
    pub subject: String,
    pub body: String,
}

impl fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingMail")
            .field("to", &self.to)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the mail could not be built: {0}")]
    Build(String),
    #[error("the mail could not be written: {0}")]
    Io(#[from] std::io::Error),
    #[error("the mail server refused or could not be reached: {0}")]
    Smtp(String),
    #[error("invalid mail configuration: {0}")]
    Config(String),
}

#[async_trait]
pub trait Mailer: Send + Sync + fmt::Debug {
    async fn send(&self, mail: OutgoingMail) -> Result<(), MailError>;
}

/// Parses a sender such as `Serviceportal <noreply@example.org>`.
pub fn parse_sender(from: &str) -> Result<Mailbox, MailError> {
    from.parse()
        .map_err(|e| MailError::Config(format!("`mail.from`: {e}")))
}

/// Builds the message. `readable` writes the body as 8bit text as it is (lines of up to 998
/// bytes are valid MIME), so that an `.eml` file shows the link unbroken; otherwise lettre picks
/// the safest encoding for the mail server (quoted-printable for long lines).
fn message(from: &Mailbox, mail: &OutgoingMail, readable: bool) -> Result<Message, MailError> {
    let to: Mailbox = mail
        .to
        .as_str()
        .parse()
        .map_err(|e: lettre::address::AddressError| MailError::Build(e.to_string()))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .singlepart(if readable {
            let text = mail.body.replace("\r\n", "\n").replace('\n', "\r\n");
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(Body::dangerous_pre_encoded(
                    text.into_bytes(),
                    ContentTransferEncoding::EightBit,
                ))
        } else {
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(mail.body.clone())
        })
        .map_err(|e| MailError::Build(e.to_string()))
}

/// Writes every message as an `.eml` file (RFC 5322, as a mail client opens it).
pub struct FileMailer {
    dir: PathBuf,
    from: Mailbox,
    clock: Arc<dyn Clock>,
    sequence: AtomicU64,
}

impl fmt::Debug for FileMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileMailer")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl FileMailer {
    /// Creates `dir` if needed.
    pub fn new(dir: &Path, from: Mailbox, clock: Arc<dyn Clock>) -> Result<Self, MailError> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            from,
            clock,
            sequence: AtomicU64::new(0),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, mail: OutgoingMail) -> Result<(), MailError> {
        let bytes = message(&self.from, &mail, true)?.formatted();
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{}-{sequence:06}-{}.eml",
            self.clock.now().format("%Y%m%dT%H%M%S%.3fZ"),
            mail.kind.as_str()
        );
        // Written aside and renamed, so that whoever watches the directory never reads half
        // a mail.
        let partial = self.dir.join(format!(".{name}.partial"));
        tokio::fs::write(&partial, bytes).await?;
        tokio::fs::rename(&partial, self.dir.join(&name)).await?;
        tracing::info!(kind = mail.kind.as_str(), file = %name, "mail written");
        Ok(())
    }
}

/// Sends over SMTP: `smtp://host:25`, `smtp://host:587?tls=required` (STARTTLS) or
/// `smtps://user:password@host:465`.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer").finish_non_exhaustive()
    }
}

impl SmtpMailer {
    pub fn new(url: &str, from: Mailbox) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Config(format!("`mail.smtp_url`: {e}")))?
            .build();
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: OutgoingMail) -> Result<(), MailError> {
        let message = message(&self.from, &mail, false)?;
        self.transport
            .send(message)
            .await
            .map_err(|e| MailError::Smtp(e.to_string()))?;
        tracing::info!(kind = mail.kind.as_str(), "mail sent");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rathaus_web::ManualClock;

    #[tokio::test]
    async fn files_are_complete_messages_named_by_time_and_kind() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap());
        let mailer = FileMailer::new(
            &dir.path().join("mail"),
            parse_sender("Serviceportal <noreply@example.org>").unwrap(),
            Arc::new(clock),
        )
        .unwrap();
        let mail = compose(
            MailKind::Confirm,
            Email::parse("anna@example.org").unwrap(),
            "https://portal.example/account/confirm?token=abc",
        );
        mailer.send(mail).await.unwrap();
        let names: Vec<String> = std::fs::read_dir(mailer.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["20260102T030405.000Z-000000-confirm.eml"]);
        let text = std::fs::read_to_string(mailer.dir().join(&names[0])).unwrap();
        assert!(text.contains("To: anna@example.org"), "{text}");
        assert!(
            text.contains("From: Serviceportal <noreply@example.org>"),
            "{text}"
        );
        assert!(
            text.contains("https://portal.example/account/confirm?token=abc"),
            "{text}"
        );
    }
}
