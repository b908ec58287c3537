// Package dialogs runs nurture scripts: YAML files (configs/dialogs/, one
// script per file) compiled to a graph of steps, run per contact with the
// contact's place kept in Redis.
//
// # Scripts
//
//	id: webinar_signup          # letters, digits, _
//	version: 1                  # raise it whenever the file changes
//	priority: 50                # 0..1000; a higher one replaces a running script
//	vars: {title: 研讨会}        # defaults for {{.name}} placeholders
//	triggers: [...]             # what starts the script
//	start: invite               # optional; default the first step
//	steps: [...]
//
// Triggers, one key each:
//
//	triggers:
//	- subscribe: {scene: expo}     # official-account follow (any scene when empty);
//	                               # with a scene also a scan by an existing follower
//	- contact_added: {state: expo} # WeCom customer added a rep (any state when empty)
//	- keyword: [研讨会, webinar]    # found inside a reply; {any: [...], exact: true}
//	                               # for whole-message matches
//	- tag_added: vip
//	- score_band: hot              # hot, warm or cold, when the score moves into it
//	- event: whitepaper_download   # any inbound event type, e.g. from the events API
//	- activity: silent             # TypeActivityChanged with that activity
//
// Steps have an id, exactly one of send, ask, wait, branch or do, and an
// optional next (default: the following step; the last step ends; next: end
// ends). Text may use {{.name}} placeholders of script variables.
//
//	steps:
//	- id: hi
//	  send: {text: "您好 {{.name}}"}          # or {template: welcome, vars: {k: v}}
//	- id: need
//	  ask:                                 # prompt: text or template (optional)
//	    text: 请问您关心什么？                 # the numbered choices are appended
//	    choices:                           # answered by number ("2", "２。", "2、…"),
//	      - {label: 了解产品, next: product}  # label, or a keyword inside the reply
//	      - {label: 预约演示, next: demo, keywords: [演示]}
//	    keywords: [{any: [价格, 报价], next: pricing}]
//	    patterns: [{regex: '^\d{6}$', save_as: code, next: check}]
//	    capture: {var: company, validate: non_empty}   # or phone, email, regex (+ regex:)
//	    reprompt: 请回复序号                    # default: a short apology
//	    timeout: 2d                        # then on_timeout (default: end)
//	    on_timeout: nudge
//	    fallback: human                    # after two re-prompts (default: end)
//	- id: wait_reply
//	  wait: {timeout: 3d, on_reply: engaged, on_timeout: followup, save_as: answer,
//	         keywords: [{any: [不需要], next: bye}]}
//	- id: route
//	  branch:                              # first case whose tests all hold
//	    - {tag: vip, score: ">= 80", next: vip}   # also not_tag, stage: [mql, sql],
//	    - {var: company, set: true, next: known}  # var with set, equals or matches
//	    - {next: plain}                    # no test: the default, last
//	- id: act
//	  do:
//	    - tag: interest:demo
//	    - untag: cold
//	    - score: +15
//	    - stage: mql
//	    - coupon: {batch: winback_2026, save_as: coupon}
//	    - remind: {template: webinar_reminder, at: "{{.starts_at}}", before: 24h}
//	    - remind: {text: 别忘了, delay: 2h}
//	    - set: {var: source, value: "{{.company}}"}
//	    - handoff: 客户要报价          # last: a rep takes over, the bot pauses
//	    # or last: start: other_script, or end: true
//
// Durations are Go durations with an optional leading day count (90m, 24h,
// 3d, 1d12h), from 1m to 366d. Load checks everything at once and reports
// each problem with file:line: unknown keys and step ids, unreachable steps,
// loops without an ask or wait (also through start:), unknown templates,
// duplicate ids, bad regular expressions, unset variables.
//
// # Running
//
// Engine.Handle takes each inbound after the contact's state was updated.
// The replies 人工 / 转人工 / human hand the contact to a rep and pause the
// bot until Engine.Resume; TD / 退订 unsubscribe and end the session, also
// while paused. A trigger of higher priority than the running script
// replaces it; otherwise a reply answers the step the session waits at.
// A reply that matches nothing is re-prompted with the choices at most
// MaxReprompts times, then the fallback runs. Anything that stops a script
// at run time (a failed action, a missing script version) ends the session
// and is returned, so no contact is ever stuck.
//
// Engine.Tick, called periodically, advances sessions whose deadline
// passed (a sorted set by deadline); a step without its own timeout ends
// after Options.IdleTimeout. A session keeps the script version it started
// with across reloads and restarts: the engine keeps every version it has
// loaded, and stores each version's YAML in Redis when a session first uses
// it.
//
// Each step of a contact runs under a per-contact lock taken in the same
// round trip that reads the session; actions run in script order before
// the new state is saved with the lock released in one more round trip.
// Every action carries an idempotency key that is the same when the step
// runs again, so downstream can drop a repeat after a crash.
package dialogs
