import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addMonths, checkExtension, daysLeft, dueDate, GDPR_DEADLINES, parseDays } from '../../src/workflow/requests/deadlines.ts';

describe('deadlines (GDPR Art. 12(3))', () => {
  test('one calendar month: the same date next month, or the month\'s last day', () => {
    assert.equal(addMonths('2026-03-15', 1), '2026-04-15');
    assert.equal(addMonths('2026-01-31', 1), '2026-02-28');
    assert.equal(addMonths('2028-01-31', 1), '2028-02-29');
    assert.equal(addMonths('2026-12-31', 1), '2027-01-31');
    assert.equal(addMonths('2026-10-31', 3), '2027-01-31');
  });

  test('the clock runs from receipt, or from identity confirmation when it was asked for', () => {
    assert.equal(dueDate({ receivedAt: '2026-03-15T23:59:00Z', identityRequested: false, identityVerifiedAt: null }, GDPR_DEADLINES), '2026-04-15');
    assert.equal(dueDate({ receivedAt: '2026-03-15T10:00:00Z', identityRequested: true, identityVerifiedAt: null }, GDPR_DEADLINES), null);
    assert.equal(dueDate({ receivedAt: '2026-03-15T10:00:00Z', identityRequested: true, identityVerifiedAt: '2026-03-20T09:00:00Z' }, GDPR_DEADLINES), '2026-04-20');
    assert.equal(dueDate({ receivedAt: '2026-03-15T10:00:00Z', identityRequested: false, identityVerifiedAt: null }, { months: 2, maxExtensionMonths: 2 }), '2026-05-15');
  });

  test('days left count calendar days; negative once overdue', () => {
    assert.equal(daysLeft('2026-04-15', new Date('2026-04-15T23:00:00Z')), 0);
    assert.equal(daysLeft('2026-04-15', new Date('2026-04-08T00:30:00Z')), 7);
    assert.equal(daysLeft('2026-04-15', new Date('2026-04-16T00:00:00Z')), -1);
  });

  test('an extension is after the deadline and at most two months later', () => {
    assert.equal(checkExtension('2026-04-15', '2026-06-15', GDPR_DEADLINES), null);
    assert.match(checkExtension('2026-04-15', '2026-06-16', GDPR_DEADLINES)!, /more than 2 months after the deadline 2026-04-15 \(at most 2026-06-15\)/);
    assert.match(checkExtension('2026-04-15', '2026-04-15', GDPR_DEADLINES)!, /must be after/);
    assert.match(checkExtension('2026-04-15', 'soon', GDPR_DEADLINES)!, /not a date/);
  });

  test('--due-within takes days or weeks', () => {
    assert.equal(parseDays('7d'), 7);
    assert.equal(parseDays('2w'), 14);
    assert.equal(parseDays('10'), 10);
    assert.throws(() => parseDays('7 days'), /not a number of days/);
  });
});
