// Package reports keeps the numbers marketing teams run their week on (the
// lifecycle funnel, campaign effectiveness, channel comparison and sales
// hand-offs) as daily counters in Redis, added to as events happen, so a
// report over a million contacts reads a few small hashes per day and never
// scans contacts.
//
// It is a top-level package, not part of contacts, because it is fed by
// every domain (callbacks through the gateway, message outcomes and
// hand-offs from outreach, imports) and read by the API; contacts is a leaf
// that imports no other domain package and must stay one.
//
// What is recorded, and when:
//
//   - first sight of a contact (Seen, Imported): its source (qr:<scene>,
//     wecom_state:<state>, import:<job>, direct) is fixed for good, and it
//     enters its first stage;
//   - stage changes (StageChanged): the stages it reaches are counted on the
//     day, the time it spent in the stage it leaves goes into a log-bucket
//     histogram, and a campaign that reached it within AttributionWindow is
//     credited with the lead (mql), conversion (sql) or new customer;
//   - message outcomes (MessageEvent, the outreach observer): sent,
//     delivered and failed per channel; a campaign send counts as reach and
//     becomes the contact's last campaign touch;
//   - reactions, replies and opt-outs per channel, each counted once;
//   - orders (Order): a deal with its revenue, attributed to the contact's
//     last campaign touch within AttributionWindow, once per order id;
//   - hand-offs (the outreach hand-off observer): received, followed up with
//     the time it took, and SLA breaches, per rep.
//
// Reports are statistics: a crash between the contact-state script and the
// counter pipeline can lose one count, never corrupt a contact.
package reports
