-- A booking state dated far in the future (an event sent by a sender with a wrong clock) made
-- every later event for that booking stale, and no snapshot could repair it. From now on no
-- stored state is dated more than 5 minutes after it was received; clamp the ones already
-- stored.
UPDATE webhook_bookings
   SET occurred_at_ms = updated_at_ms + 300000
 WHERE occurred_at_ms > updated_at_ms + 300000;
