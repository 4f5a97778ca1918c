import { templateEventNote, templateStatusAfter } from './template-status';

describe('templateStatusAfter', () => {
  it('takes the statuses Meta sends as they are', () => {
    for (const status of ['APPROVED', 'REJECTED', 'PAUSED', 'DISABLED', 'PENDING_DELETION', 'ARCHIVED']) expect(templateStatusAfter(status)).toBe(status);
  });

  it('makes a reinstated or unarchived template sendable again', () => {
    expect(templateStatusAfter('REINSTATED')).toBe('APPROVED');
    expect(templateStatusAfter('UNARCHIVED')).toBe('APPROVED');
  });

  it('leaves the status to flags, locks, category updates and events it does not know', () => {
    for (const event of ['FLAGGED', 'LOCKED', 'SOMETHING_NEW', null]) expect(templateStatusAfter(event)).toBeNull();
  });
});

describe('templateEventNote', () => {
  it('explains a quality flag, and otherwise passes the reason on', () => {
    expect(templateEventNote('FLAGGED', null)).toMatch(/^quality flagged by WhatsApp; it is paused/);
    expect(templateEventNote('REJECTED', 'INVALID_FORMAT')).toBe('INVALID_FORMAT');
    expect(templateEventNote('APPROVED', null)).toBeNull();
  });
});
