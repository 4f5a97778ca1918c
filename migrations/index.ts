import { CreatePlatformSchema1763798400000 } from './1763798400000-CreatePlatformSchema';
import { CreateAnalyticsRollups1795328262201 } from './1795328262201-CreateAnalyticsRollups';
import { AddDeliveryRetryTiming1795328339001 } from './1795328339001-AddDeliveryRetryTiming';
import { CreateAuditLog1795328600000 } from './1795328600000-CreateAuditLog';
import { AddTopicFollowerRollup1795329389520 } from './1795329389520-AddTopicFollowerRollup';
import { EnableRowLevelSecurity1795400000000 } from './1795400000000-EnableRowLevelSecurity';
import { DeliveryClaimLease1795500000000 } from './1795500000000-DeliveryClaimLease';
import { LeanerDeliveryIndexes1795600000000 } from './1795600000000-LeanerDeliveryIndexes';
import { MonthlyCapIndex1795700000000 } from './1795700000000-MonthlyCapIndex';
import { WebhookEventChannels1795800000000 } from './1795800000000-WebhookEventChannels';
import { ReplyOutbox1795900000000 } from './1795900000000-ReplyOutbox';
import { ConsentWithdrawn1796000000000 } from './1796000000000-ConsentWithdrawn';
import { WebhookEventContacts1796100000000 } from './1796100000000-WebhookEventContacts';
import { InboxNewestFirst1796200000000 } from './1796200000000-InboxNewestFirst';
import { CreateMessageTemplates1796300000000 } from './1796300000000-CreateMessageTemplates';
import { CreateErasedInboundMessages1796400000000 } from './1796400000000-CreateErasedInboundMessages';
import { SubscriberUndeliverable1796500000000 } from './1796500000000-SubscriberUndeliverable';
import { DeliveryWindowClosed1796600000000 } from './1796600000000-DeliveryWindowClosed';
import { TemplateQuickReplies1796700000000 } from './1796700000000-TemplateQuickReplies';
import { StatusRollupPlannedPerCall1796800000000 } from './1796800000000-StatusRollupPlannedPerCall';
import { SubscribersNewestFirst1796900000000 } from './1796900000000-SubscribersNewestFirst';
import { UserLoginAddresses1797000000000 } from './1797000000000-UserLoginAddresses';
import { UserTokenVersion1797100000000 } from './1797100000000-UserTokenVersion';

/**
 * Every migration, in order (one per line). A new migration is added here; a merged one is never
 * edited. A new tenant-owned table needs its own row-level-security policy (see
 * EnableRowLevelSecurity; test/row-level-security checks every table).
 */
export const MIGRATIONS = [
  CreatePlatformSchema1763798400000,
  CreateAnalyticsRollups1795328262201,
  AddDeliveryRetryTiming1795328339001,
  CreateAuditLog1795328600000,
  AddTopicFollowerRollup1795329389520,
  EnableRowLevelSecurity1795400000000,
  DeliveryClaimLease1795500000000,
  LeanerDeliveryIndexes1795600000000,
  MonthlyCapIndex1795700000000,
  WebhookEventChannels1795800000000,
  ReplyOutbox1795900000000,
  ConsentWithdrawn1796000000000,
  WebhookEventContacts1796100000000,
  InboxNewestFirst1796200000000,
  CreateMessageTemplates1796300000000,
  CreateErasedInboundMessages1796400000000,
  SubscriberUndeliverable1796500000000,
  DeliveryWindowClosed1796600000000,
  TemplateQuickReplies1796700000000,
  StatusRollupPlannedPerCall1796800000000,
  SubscribersNewestFirst1796900000000,
  UserLoginAddresses1797000000000,
  UserTokenVersion1797100000000,
];
