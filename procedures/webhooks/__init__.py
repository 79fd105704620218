"""Twilio's webhooks: take them safely, answer them, hand each on once.

    listen       an ASGI webhook server: signed requests only, retries handed on once, calls answered with
                 TwiML (`procedures.webhooks.listen`)
    signature    the `X-Twilio-Signature` check, with the SDK's `RequestValidator` (`.signature`)
    idempotency  deliveries handed on, by Twilio's idempotency token, and the durable queue of runs (`.idempotency`)
    twiml        how calls and messages are answered, per number (`.twiml`)
    cli          `twilio-book listen` and `twilio-book sandbox receive` (`.cli`, the standard library only)

Importing this package loads nothing: import the module you need.
"""
