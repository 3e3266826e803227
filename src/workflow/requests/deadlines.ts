/**
 * GDPR Art. 12(3) deadlines. One month from receipt — counted from the day after receipt to the same date of the
 * next month, so a request received on 15 March is due on 15 April, and on 31 January due on the last day of
 * February — or from the day identity was confirmed, when the controller asked for it (the clock waits for the
 * proof). One extension of up to two further months, with a reason, decided before the first deadline.
 */

/** A calendar date as YYYY-MM-DD (UTC). */
export type IsoDate = string;

export function toIsoDate(t: Date): IsoDate {
  return t.toISOString().slice(0, 10);
}

/** The same day `months` months later, or that month's last day when it is shorter. */
export function addMonths(date: IsoDate, months: number): IsoDate {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const first = new Date(Date.UTC(y, m - 1 + months, 1));
  const lastDay = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  return toIsoDate(new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), Math.min(d, lastDay))));
}

export interface DeadlinePolicy {
  /** Months from the start of the clock to the deadline (GDPR: 1). */
  months: number;
  /** The most an extension may add, in months (GDPR: 2). */
  maxExtensionMonths: number;
}

export const GDPR_DEADLINES: DeadlinePolicy = { months: 1, maxExtensionMonths: 2 };

/** The due date: from receipt, or from identity confirmation when it was asked for (null while it is awaited). */
export function dueDate(p: { receivedAt: string; identityRequested: boolean; identityVerifiedAt: string | null }, policy: DeadlinePolicy): IsoDate | null {
  if (p.identityRequested && p.identityVerifiedAt === null) return null;
  const start = p.identityRequested ? p.identityVerifiedAt! : p.receivedAt;
  return addMonths(toIsoDate(new Date(start)), policy.months);
}

const DAY_MS = 86_400_000;

/** Whole days from `now`'s date to the due date (0 on the due date itself, negative once overdue). */
export function daysLeft(due: IsoDate, now: Date): number {
  return Math.round((Date.parse(`${due}T00:00:00Z`) - Date.parse(`${toIsoDate(now)}T00:00:00Z`)) / DAY_MS);
}

/** Parses "7d", "2w" or a bare number of days (for `--due-within`). */
export function parseDays(text: string): number {
  const m = /^(\d+)\s*([dw]?)$/.exec(text.trim());
  if (!m) throw new RangeError(`"${text}" is not a number of days (e.g. 7d or 2w)`);
  return Number(m[1]) * (m[2] === 'w' ? 7 : 1);
}

/** Whether `until` is a valid extension of `due` (after it, at most maxExtensionMonths later). */
export function checkExtension(due: IsoDate, until: IsoDate, policy: DeadlinePolicy): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(until) || Number.isNaN(Date.parse(until))) return `"${until}" is not a date (YYYY-MM-DD)`;
  if (until <= due) return `the extension ${until} must be after the current deadline ${due}`;
  const limit = addMonths(due, policy.maxExtensionMonths);
  if (until > limit) return `the extension ${until} is more than ${policy.maxExtensionMonths} months after the deadline ${due} (at most ${limit})`;
  return null;
}
