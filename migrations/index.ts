import { CreatePlatformSchema1763798400000 } from './1763798400000-CreatePlatformSchema';

/** Every migration, in order. A new migration is added here; a merged one is never edited. */
export const MIGRATIONS = [CreatePlatformSchema1763798400000];
