"""The built-in sandbox: a Clientary-compatible REST API with seeded demo data.

Use it in process::

    app = create_app()                                   # or create_app(faults=Faults(rate_429=0.3, seed=7))
    transport = SandboxTransport(app)                    # an httpx.AsyncBaseTransport
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox",
                                 auth=(DEMO_TOKEN, DEMO_TOKEN)) as http:
        await http.get("/api/v2/clients")

or on a port with ``run()`` / ``python -m clientary_mcp.sandbox`` / ``clientary-mcp sandbox``.

Inspecting state (``store = app.state.store``):

* ``store.requests`` – list of ``RequestRecord(method, path, status)``, one per request that
  reached the app (including injected 429/5xx answers; not transport drops that happen
  before sending). ``path`` is the path as sent, e.g. ``/api/v2/clients.json``.
* ``store.table(name)`` – the live records of a table in id order; ``store.get(name, id)``,
  ``store.where(name, **criteria)``, ``store.count(name)``, ``store.counts()`` (all tables),
  ``store.snapshot(name)`` (deep copy). Tables: staff, clients, leads, contacts, projects, hours,
  tasks, expenses, estimates, invoices, payments, payment_profiles, recurring, messages
  (sent invoice/estimate emails). Records hold Python values (``date``, ``datetime``, floats);
  invoices, estimates and recurring schedules keep their line items under ``"items"``; hours
  keep ``"billed"`` (rendered as ``billed?``).
* ``store.settings`` – ``AccountSettings`` (``fiscal_year_start_month``, ``stripe_enabled``,
  ``token_user_id``, ``name``); ``store.today()``, ``store.fiscal_year()``.
* ``app.state.faults`` – the live ``Faults``; change attributes at any time.

Where the API documentation leaves a question open, the sandbox's answer is in
``DOC_CHOICES`` below (one line each) and nowhere else.
"""

from .app import DEMO_TOKEN, create_app
from .cli import main, run
from .faults import Faults
from .store import AccountSettings, RequestRecord, Store
from .transport import SandboxTransport

DOC_CHOICES: tuple[str, ...] = (
    "Success codes: create → 201 with the full object; update → 200 with the full object.",
    "DELETE → 200 with an empty JSON object {}.",
    (
        "Errors: 401 {'error'} (with WWW-Authenticate), 404 {'error': 'Not Found'}, 422 {'errors': {field: "
        "[msg]}}, 426/429/5xx {'error'}."
    ),
    (
        "A body without its wrapper key, or with an empty one → 422 {'errors': {<wrapper>: ['is missing']}} "
        "(Rails would say 400)."
    ),
    "Malformed JSON, or a JSON body that is not an object → 400 {'error'}.",
    "Unknown keys inside the wrapper are ignored, like Rails strong parameters; read-only keys too.",
    "Unknown routes and unsupported methods on known paths → 404 (no 405). PATCH is accepted wherever PUT is.",
    (
        "Content negotiation: every answer is JSON whatever Accept says; `.json` and a trailing slash are "
        "optional."
    ),
    (
        "Typo'd create paths POST /api/v2/Lead, /api/v2/lead and /api/v2/task are accepted beside /leads and "
        "/tasks."
    ),
    "Wrapped bodies only; unwrapped bodies (sent by some third-party clients) are rejected with the 422 above.",
    (
        "Leads and clients share one id sequence; a lead's contacts and estimates carry the lead's id as "
        "client_id."
    ),
    "Contacts can only be created under clients (POST /clients/:lead_id/contacts → 404).",
    (
        "Page sizes: clients 10, contacts 10 (page_size 1..100, larger capped at 100), leads 20, projects 20,"
        " client projects 10, estimates/invoices/payments/recurring 30, tasks 50, payment profiles 10."
    ),
    (
        "page_size is honoured on contacts lists only; page or page_size that is not a positive integer → 422"
        " naming it."
    ),
    "A page past the end is empty but keeps the counts; an empty list has page_count 0.",
    (
        "Orders not documented: contacts, tasks, recurring, payment profiles, staff by id; projects by name; "
        "invoices and estimates newest date first; hours and expenses by date."
    ),
    (
        "payments sort=created_at → oldest created first (Rails order(:created_at)); default newest "
        "received_on first."
    ),
    "Unknown sort/filter values fall back to the default order/filter.",
    (
        "Client-scoped project list returns all of the client's projects (the active/billable default applies"
        " to /projects only)."
    ),
    (
        "updated_since accepts a date or an ISO 8601 timestamp (UTC if no offset) and keeps records updated "
        "at or after it."
    ),
    "Dates are accepted as YYYY-MM-DD or YYYY/MM/DD; anything else → 422 'is not a valid date'.",
    (
        "Expense window: a missing from_date/to_date defaults to that end of the current fiscal year (start "
        "month is a store setting, January)."
    ),
    "Client status key is `status` (1 Active, 2 Archived); clients and leads also show created_at/updated_at.",
    (
        "Invoices and estimates carry a writable project_id (project-scoped lists need it); a record given a "
        "project but no client takes the project's client."
    ),
    (
        "Auto-numbering when `number` is omitted: clients from 101, leads/estimates from 1, invoices from "
        "1001, recurring from 1000001 (max numeric + 1); projects get none."
    ),
    "`number` is unique per table (clients and leads are checked separately).",
    "Invoice status 5 (Pending, listed on one mirror only) is accepted; an invoice's client_id is optional.",
    (
        "Items: item_type defaults to 3; header items (0) need only a title; line items need title, quantity,"
        " price."
    ),
    (
        "Items: `taxable` defaults to true; on invoices/estimates it covers all three taxes; recurring items "
        "have separate taxable?/secondary_tax?/tertiary_tax? flags."
    ),
    (
        "Tax: tax% on taxable amounts; tax2% on amount + tax1 when compound_tax, else on the amount; tax3% on"
        " the amount. Money rounded half-up to cents."
    ),
    "Unknown item id in *_items_attributes → 422 naming the attribute; `_destroy` without id is ignored.",
    (
        "Project cost: hourly projects sum hours × entry rate; fixed-amount projects (type 2) cost their "
        "rate. Hour entries default to the project's rate (0 on fixed projects)."
    ),
    (
        "Hour entries: user_id is the token's staff user (id 1); `billed` or `billed?` are writable; date "
        "defaults to today."
    ),
    (
        "Tasks: `complete` and `completed` both accepted; completing sets completed_at, reopening clears it; "
        "due_date shown in slash form."
    ),
    (
        "Payments: amount must be > 0; received_on is writable (default today); embedded invoice payments "
        "show received_on in slash form, the payments list in ISO form."
    ),
    (
        "Auto-charge: payment_profile_id must belong to the invoice's client; charges the whole balance; no "
        "balance → 422 base."
    ),
    (
        "Invoice status → Paid (4) when payments reach the total; deleting a payment of a Paid invoice with a"
        " balance left → Sent (1)."
    ),
    (
        "Send message: recipients must be a non-empty list of valid emails; Draft → Sent; the email is "
        "recorded, not sent; 200 with a summary. Estimates have the same endpoint."
    ),
    (
        "Payment profiles: only the stripe_payment_profile form; gateway 'stripe', gateway_token = "
        "stripe_customer_id; last_four_digits must be 4 digits."
    ),
    (
        "Recurring schedules: unlimited defaults to true; Autobill (action 2) needs a payment profile of the "
        "same client; nothing generates invoices over time."
    ),
    (
        "Cascades: client → projects (and theirs), invoices (with payments), estimates, contacts, payment "
        "profiles, recurring schedules; lead → estimates, contacts; project → tasks, hours, expenses, "
        "invoices, estimates; invoice → payments."
    ),
    (
        "References a delete leaves behind are cleared, not deleted (expense/task client_id, expense "
        "invoice_id, invoice recurring link, schedule payment_profile_id)."
    ),
    "Plan limit (Faults.plan_limit_after) is checked before validation; 426 {'error'}.",
    (
        "429 and 5xx are not documented; the sandbox sends Retry-After with 429, 500/502/503 on faulty reads "
        "and 502 after applying a faulty write."
    ),
    (
        "Payment profiles show card_type and last_four_digits as stored (the doc's response sample lists neither;"
        " clients must cope with their absence)."
    ),
    (
        "A charge (payment_profile_id) always takes the whole balance; the payment's note names the card "
        "holder and transaction_id is a made-up ch_sandbox… id."
    ),
    (
        "Faults.empty_update_bodies answers successful updates 204 with no body (reported for task updates); "
        "Faults.fail_writes/fail_after fail matching writes mid-job, unapplied, with fail_status."
    ),
    (
        "GET /contacts lists the contacts of clients and leads alike (a lead's contacts carry the lead id as "
        "client_id); there is no /leads/:id/contacts."
    ),
    (
        "Served on a port, --drop-rate aborts responses mid-way (connection cut); in process SandboxTransport"
        " raises ConnectError/ReadError instead."
    ),
)

__all__ = [
    "DEMO_TOKEN",
    "DOC_CHOICES",
    "AccountSettings",
    "Faults",
    "RequestRecord",
    "SandboxTransport",
    "Store",
    "create_app",
    "main",
    "run",
]
