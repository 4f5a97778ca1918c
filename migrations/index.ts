import { CreatePlatformSchema1763798400000 } from './1763798400000-CreatePlatformSchema';
import { CreateAuditLog1795328600000 } from './1795328600000-CreateAuditLog';

/** Every migration, in order. A new migration is added here; a merged one is never edited. */
export const MIGRATIONS = [CreatePlatformSchema1763798400000, CreateAuditLog1795328600000];
