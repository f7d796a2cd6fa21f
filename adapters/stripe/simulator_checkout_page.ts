/**
 * The payment page at a simulated Checkout Session's url: what is bought and for how
 * much, a button that pays (as a test card would) and one that leaves. Like Stripe's own
 * page it needs no API key; paying sends the webhooks a completed Checkout sends, then
 * the browser goes to the session's success_url (or cancel_url after leaving).
 * @module
 */
import type { StripeObject } from "./simulator_objects.ts";

export const PAGE_PATH = /^\/c\/pay\/([^/]+)(?:\/(pay|leave))?$/;

export type PageRequest = { sessionId: string; action: "show" | "pay" | "leave" };

/** The page request of `method` and `pathname`; null when it is no page route. */
export const pageRequest = (method: string, pathname: string): PageRequest | null => {
  const match = PAGE_PATH.exec(pathname);
  if (match === null) return null;
  const action = (match[2] ?? "show") as PageRequest["action"];
  if ((action === "show") !== (method === "GET")) return null;
  return { sessionId: decodeURIComponent(match[1]!), action };
};

const escape = (text: unknown) =>
  String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const money = (amount: unknown, currency: unknown) =>
  `${(Number(amount) / 100).toFixed(2)} ${String(currency ?? "").toUpperCase()}`;

type Line = { price: StripeObject; quantity: number };

export const checkoutPage = (session: StripeObject, lines: readonly Line[]): string => {
  const rows = lines.map(({ price, quantity }) => {
    const recurring = price.recurring as { interval: string; interval_count: number } | null;
    const every = recurring
      ? ` every ${
        recurring.interval_count > 1 ? `${recurring.interval_count} ` : ""
      }${recurring.interval}`
      : "";
    return `<tr><td>${escape(price.nickname ?? price.id)} × ${quantity}</td>` +
      `<td>${
        escape(money(Number(price.unit_amount) * quantity, price.currency))
      }${every}</td></tr>`;
  }).join("");
  const open = session.status === "open";
  const base = `/c/pay/${encodeURIComponent(session.id)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Checkout (Stripe simulator)</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
table{width:100%;border-collapse:collapse}td{padding:.4rem 0;border-bottom:1px solid #ddd}
button{font-size:1rem;padding:.6rem 1.2rem;margin:1rem .5rem 0 0}</style></head>
<body><h1>Checkout</h1><p>Stripe simulator: no card is charged.</p>
<p>Session <code>${escape(session.id)}</code> (${escape(session.mode)}): <strong id="status">${
    escape(session.status)
  }</strong></p>
<table>${rows}</table>
<p>Total: <strong>${escape(money(session.amount_total, session.currency))}</strong></p>
${
    open
      ? `<form method="post" action="${base}/pay"><button id="pay">Pay</button></form>
<form method="post" action="${base}/leave"><button id="leave">Leave without paying</button></form>`
      : "<p>This session is no longer open.</p>"
  }
</body></html>`;
};

/** Where the browser goes after paying or leaving; null: stay on the page. */
export const nextUrl = (session: StripeObject, action: "pay" | "leave"): string | null => {
  const url = action === "pay" ? session.success_url : session.cancel_url;
  return typeof url === "string" && url !== ""
    ? url.replaceAll("{CHECKOUT_SESSION_ID}", session.id)
    : null;
};
