//! Outgoing messages: written to the `outbox` table in the transaction of
//! the change that causes them, then delivered by a worker through a
//! [`Sender`] (SMTP when configured, otherwise a file), with retries and
//! exponential back-off. A message is never lost to a mail server being
//! down, and never sent for a change that was rolled back.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sqlx::{PgExecutor, PgPool, Row};
use tokio::io::AsyncWriteExt;

use crate::config::Config;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

/// Delivers one message; an `Err` is retried later.
pub trait Sender: Send + Sync {
    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<(), String>>;
}

/// The default sender: appends every message to a file (the spool an
/// operator or a test reads), so nothing needs a mail server.
pub struct FileSender {
    path: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl FileSender {
    pub fn new(path: PathBuf) -> FileSender {
        FileSender {
            path,
            lock: tokio::sync::Mutex::new(()),
        }
    }
}

impl Sender for FileSender {
    fn send<'a>(&'a self, m: &'a Message) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let _guard = self.lock.lock().await;
            if let Some(dir) = self.path.parent() {
                tokio::fs::create_dir_all(dir).await.map_err(|e| e.to_string())?;
            }
            let mut file = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .await
                .map_err(|e| format!("{}: {e}", self.path.display()))?;
            let text = format!(
                "To: {}\nSubject: {}\nDate: {}\n\n{}\n\n----\n",
                m.recipient,
                m.subject,
                chrono::Utc::now().to_rfc3339(),
                m.body
            );
            file.write_all(text.as_bytes()).await.map_err(|e| e.to_string())?;
            file.flush().await.map_err(|e| e.to_string())
        })
    }
}

/// Mail through an SMTP server given as a URL (lettre's syntax:
/// `smtp://host:25`, `smtp://user:pass@host:587?tls=required`, `smtps://…:465`).
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpSender {
    pub fn new(url: &str, from: &str) -> Result<SmtpSender, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("GEOPORTAL_SMTP_URL is not usable: {e}"))?
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| format!("GEOPORTAL_MAIL_FROM `{from}` is not a mail address: {e}"))?;
        Ok(SmtpSender { transport, from })
    }
}

impl Sender for SmtpSender {
    fn send<'a>(&'a self, m: &'a Message) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let to = m
                .recipient
                .parse::<Mailbox>()
                .map_err(|e| format!("bad recipient address: {e}"))?;
            let email = lettre::Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(m.subject.clone())
                .body(m.body.clone())
                .map_err(|e| e.to_string())?;
            self.transport.send(email).await.map(|_| ()).map_err(|e| e.to_string())
        })
    }
}

/// The sender the configuration asks for.
pub fn sender_from_config(config: &Config) -> Result<Arc<dyn Sender>, String> {
    match &config.smtp_url {
        Some(url) if !url.trim().is_empty() => Ok(Arc::new(SmtpSender::new(url, &config.mail_from)?)),
        _ => Ok(Arc::new(FileSender::new(config.data_dir.join("outbox.log")))),
    }
}

/// Queues a message; call it inside the transaction of the change.
pub async fn enqueue<'e>(db: impl PgExecutor<'e>, message: &Message) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("INSERT INTO outbox (recipient, subject, body) VALUES ($1, $2, $3) RETURNING id")
        .bind(&message.recipient)
        .bind(&message.subject)
        .bind(&message.body)
        .fetch_one(db)
        .await
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    /// Failed this time, to be tried again later.
    pub retrying: usize,
    /// Failed for the last allowed time.
    pub given_up: usize,
}

/// Back-off before attempt `n + 1`: 30 s, 1 min, 2 min, … capped at 1 h.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(0, 7) as u32;
    Duration::from_secs((30u64 << exp).min(3600))
}

/// The secret of a mailed link (confirmation, password reset). Once a
/// message is sent or given up, the outbox keeps it without the secret: the
/// link works only from the recipient's mailbox, not for a database reader.
const LINK_TOKEN: &str = "token=[0-9A-Za-z_-]+";
const SPENT_TOKEN: &str = "token=(removed-after-sending)";

/// Sends up to `limit` due messages. Rows are locked (`SKIP LOCKED`), so
/// several workers or server instances never send one message twice.
pub async fn deliver_due(pool: &PgPool, sender: &dyn Sender, limit: i64) -> Result<Delivery, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query(
        "SELECT id, recipient, subject, body, attempts, max_attempts FROM outbox \
         WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now() \
         ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut report = Delivery::default();
    for row in rows {
        let id: i64 = row.try_get("id")?;
        let attempts: i32 = row.try_get("attempts")?;
        let max_attempts: i32 = row.try_get("max_attempts")?;
        let message = Message {
            recipient: row.try_get("recipient")?,
            subject: row.try_get("subject")?,
            body: row.try_get("body")?,
        };
        match sender.send(&message).await {
            Ok(()) => {
                sqlx::query(
                    "UPDATE outbox SET sent_at = now(), attempts = attempts + 1, last_error = NULL, \
                     body = regexp_replace(body, $2, $3, 'g') WHERE id = $1",
                )
                .bind(id)
                .bind(LINK_TOKEN)
                .bind(SPENT_TOKEN)
                .execute(&mut *tx)
                .await?;
                report.sent += 1;
            }
            Err(error) => {
                let give_up = attempts + 1 >= max_attempts;
                // The recipient stays out of the log: it is personal data.
                tracing::warn!(outbox_id = id, attempt = attempts + 1, give_up, %error, "message not sent");
                sqlx::query(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $2, \
                     next_attempt_at = now() + make_interval(secs => $3), \
                     failed_at = CASE WHEN $4 THEN now() END, \
                     body = CASE WHEN $4 THEN regexp_replace(body, $5, $6, 'g') ELSE body END WHERE id = $1",
                )
                .bind(id)
                .bind(&error)
                .bind(backoff(attempts).as_secs_f64())
                .bind(give_up)
                .bind(LINK_TOKEN)
                .bind(SPENT_TOKEN)
                .execute(&mut *tx)
                .await?;
                if give_up {
                    report.given_up += 1;
                } else {
                    report.retrying += 1;
                }
            }
        }
    }
    tx.commit().await?;
    Ok(report)
}

/// Runs for the life of the server: delivers due messages every few seconds.
pub fn spawn_worker(pool: PgPool, sender: Arc<dyn Sender>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match deliver_due(&pool, sender.as_ref(), 50).await {
                Ok(d) if d.sent + d.retrying + d.given_up > 0 => {
                    tracing::info!(sent = d.sent, retrying = d.retrying, given_up = d.given_up, "outbox")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "outbox worker cannot reach the database"),
            }
        }
    })
}
