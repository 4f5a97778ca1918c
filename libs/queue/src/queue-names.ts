/** Queues; values equal their keys in kebab-case. */
export enum QueueName {
  MessageDispatch = 'message-dispatch',
  EmergencyDispatch = 'emergency-dispatch',
  WebhookEvents = 'webhook-events',
  DeliveryStatuses = 'delivery-statuses',
  Campaigns = 'campaigns',
  Maintenance = 'maintenance',
}

export const ALL_QUEUES: QueueName[] = Object.values(QueueName);

/** Lower runs first (Bull's convention). */
export enum JobPriority {
  Emergency = 1,
  Normal = 10,
}
