//! Fault injection: 5xx before doing anything, latency, a request rate above which the sandbox
//! answers 429, lost responses (the write is done, then the connection is dropped), and
//! creates refused on chosen booking objects (403, FlexyKey's access error).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::rng::SplitMix;

/// The faults a sandbox injects; changeable at run time with `Sandbox::set_faults`.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Share of requests answered 500, 502 or 503 before anything is done.
    pub fault_rate: f64,
    /// Share of successful writes whose response is lost (connection dropped).
    pub lost_response_rate: f64,
    /// Added before every answer.
    pub latency: Duration,
    /// Requests per second over the whole sandbox; above it 429 with `Retry-After`.
    pub rate_limit: Option<f64>,
    /// Booking objects on which every create is refused with 403 and an error body, as
    /// FlexyKey answers a create it will not do (the object left the company, say).
    pub refuse_creates_on: Vec<i64>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            fault_rate: 0.0,
            lost_response_rate: 0.0,
            latency: Duration::ZERO,
            rate_limit: None,
            refuse_creates_on: Vec::new(),
        }
    }
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Proceed { lose_response: bool },
    Fault(u16),
    RateLimited { retry_after_secs: u64 },
}

/// The faults plus the deterministic dice and the rate bucket.
#[derive(Debug)]
pub(crate) struct FaultState {
    pub(crate) faults: Faults,
    dice: SplitMix,
    bucket: Option<Bucket>,
}

impl FaultState {
    pub(crate) fn new(seed: u64, faults: Faults) -> FaultState {
        let bucket = faults.rate_limit.map(Bucket::new);
        FaultState {
            faults,
            dice: SplitMix::from_parts(&[seed, 0xFA17]),
            bucket,
        }
    }

    pub(crate) fn set(&mut self, faults: Faults) {
        if faults.rate_limit != self.faults.rate_limit {
            self.bucket = faults.rate_limit.map(Bucket::new);
        }
        self.faults = faults;
    }

    /// Rolls the dice for one request. The dice are rolled the same number of times whatever
    /// the settings, so one seed gives one sequence of verdicts.
    pub(crate) fn judge(&mut self, now: Instant) -> Verdict {
        let fault_roll = self.dice.unit();
        let fault_kind = self.dice.below(3);
        let lose_roll = self.dice.unit();
        if let Some(bucket) = self.bucket.as_mut()
            && let Err(retry_after_secs) = bucket.take(now)
        {
            return Verdict::RateLimited { retry_after_secs };
        }
        if fault_roll < self.faults.fault_rate {
            return Verdict::Fault([500, 502, 503][fault_kind as usize]);
        }
        Verdict::Proceed {
            lose_response: lose_roll < self.faults.lost_response_rate,
        }
    }
}

/// A token bucket holding one second's worth of requests (at least one).
#[derive(Debug)]
struct Bucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl Bucket {
    fn new(rate: f64) -> Bucket {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            f64::MIN_POSITIVE
        };
        let capacity = rate.max(1.0);
        Bucket {
            rate,
            capacity,
            tokens: capacity,
            last: None,
        }
    }

    /// Takes a token, or says after how many whole seconds one will be there.
    fn take(&mut self, now: Instant) -> Result<(), u64> {
        if let Some(last) = self.last {
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - self.tokens) / self.rate).ceil();
            Err(if wait.is_finite() && wait >= 1.0 {
                wait.min(86_400.0) as u64
            } else {
                1
            })
        }
    }
}

/// A switch per connection: once thrown, the connection fails every read and write, so hyper
/// drops it without sending the response it was about to send.
#[derive(Debug, Clone, Default)]
pub(crate) struct Kill(Arc<AtomicBool>);

impl Kill {
    pub(crate) fn throw(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn thrown(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for Kill {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener whose connections carry a [`Kill`] switch.
pub(crate) struct KillableListener(pub(crate) TcpListener);

impl Listener for KillableListener {
    type Io = KillableStream;
    type Addr = Kill;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let kill = Kill::default();
                    return (
                        KillableStream {
                            inner: stream,
                            kill: kill.clone(),
                        },
                        kill,
                    );
                }
                // Out of file descriptors and the like: wait instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr().map(|_| Kill::default())
    }
}

pub(crate) struct KillableStream {
    inner: TcpStream,
    kill: Kill,
}

fn killed() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "sandbox: response lost")
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.kill.thrown() {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.kill.thrown() {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.kill.thrown() {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refuses_above_its_rate_and_refills() {
        let start = Instant::now();
        let mut bucket = Bucket::new(2.0);
        assert_eq!(bucket.take(start), Ok(()));
        assert_eq!(bucket.take(start), Ok(()));
        assert_eq!(bucket.take(start), Err(1));
        assert_eq!(bucket.take(start + Duration::from_millis(600)), Ok(()));
        let mut slow = Bucket::new(0.25);
        assert_eq!(slow.take(start), Ok(()));
        assert_eq!(slow.take(start), Err(4));
    }

    #[test]
    fn full_fault_rate_faults_every_request_with_a_5xx() {
        let faults = Faults {
            fault_rate: 1.0,
            ..Faults::default()
        };
        let mut state = FaultState::new(7, faults);
        for _ in 0..50 {
            match state.judge(Instant::now()) {
                Verdict::Fault(code) => assert!([500, 502, 503].contains(&code)),
                other => panic!("expected a fault, got {other:?}"),
            }
        }
    }

    #[test]
    fn verdicts_are_deterministic_for_a_seed() {
        let faults = Faults {
            fault_rate: 0.3,
            lost_response_rate: 0.3,
            ..Faults::default()
        };
        let run = |seed| {
            let mut state = FaultState::new(seed, faults.clone());
            (0..40)
                .map(|_| state.judge(Instant::now()))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }
}
