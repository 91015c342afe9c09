//! Group commit for webhook deliveries: requests queue their event, one task writes whatever
//! has queued in one transaction (one sync to disk), then answers each request. Under load a
//! batch holds many events; alone, an event is written at once.

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use super::store::WebhookStore;
use crate::model::{DeliveryResult, WebhookBooking, WebhookDelivery};

/// How many events one transaction holds at most.
const MAX_BATCH: usize = 128;
/// Requests waiting for the writer; past this they wait for room (backpressure).
const QUEUE: usize = 1024;

/// A delivery that owns its data, to cross into the writer task.
#[derive(Debug)]
pub struct QueuedDelivery {
    pub source: String,
    pub event_id: String,
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub raw_json: String,
    pub booking: WebhookBooking,
}

impl QueuedDelivery {
    fn as_delivery(&self) -> WebhookDelivery<'_> {
        WebhookDelivery {
            source: &self.source,
            event_id: &self.event_id,
            event_type: &self.event_type,
            occurred_at: self.occurred_at,
            received_at: self.received_at,
            raw_json: &self.raw_json,
            booking: &self.booking,
        }
    }
}

type Reply = oneshot::Sender<Result<DeliveryResult, String>>;

/// The handle requests use; cheap to clone.
#[derive(Debug, Clone)]
pub struct DeliveryWriter {
    queue: mpsc::Sender<(QueuedDelivery, Reply)>,
}

impl DeliveryWriter {
    /// Starts the writer task (needs a Tokio runtime). It ends when every handle is dropped.
    pub fn start(store: impl WebhookStore) -> DeliveryWriter {
        let (queue, pending) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(store, pending));
        DeliveryWriter { queue }
    }

    /// Stores the delivery; returns only once it is committed (or failed).
    pub async fn store(&self, delivery: QueuedDelivery) -> Result<DeliveryResult, String> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((delivery, reply))
            .await
            .map_err(|_| "the ledger writer has stopped".to_owned())?;
        answer
            .await
            .map_err(|_| "the ledger writer stopped before answering".to_owned())?
    }
}

async fn write_batches(
    store: impl WebhookStore,
    mut pending: mpsc::Receiver<(QueuedDelivery, Reply)>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while pending.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let deliveries: Vec<WebhookDelivery<'_>> = batch
            .iter()
            .map(|(queued, _)| queued.as_delivery())
            .collect();
        let stored = store.record_deliveries(&deliveries).await;
        drop(deliveries);
        match stored {
            Ok(results) => {
                for ((_, reply), result) in batch.drain(..).zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            Err(err) => {
                let text = err.to_string();
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(text.clone()));
                }
            }
        }
    }
}
