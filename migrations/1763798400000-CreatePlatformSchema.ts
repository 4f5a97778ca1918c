import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The first schema: tenants, people and credentials, channels, subscribers and consent,
 * campaigns and deliveries, inbound messages and raw webhook events.
 * Every tenant-owned table carries tenant_id NOT NULL, leading its indexes.
 */
export class CreatePlatformSchema1763798400000 implements MigrationInterface {
  name = 'CreatePlatformSchema1763798400000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE tenants (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(200) NOT NULL,
        slug varchar(63) NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','active','suspended')),
        population integer CHECK (population IS NULL OR population > 0),
        istat_code varchar(6),
        timezone varchar(64) NOT NULL DEFAULT 'Europe/Rome',
        quiet_hours_start varchar(5) NOT NULL DEFAULT '21:00',
        quiet_hours_end varchar(5) NOT NULL DEFAULT '08:00',
        monthly_message_cap integer NOT NULL DEFAULT 5,
        privacy_policy_url varchar(2048),
        approved_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE UNIQUE INDEX tenants_slug_key ON tenants (slug)`);

    await db.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid REFERENCES tenants(id) ON DELETE CASCADE,
        email varchar(320) NOT NULL,
        password_hash varchar(255) NOT NULL,
        role varchar(20) NOT NULL CHECK (role IN ('platform_admin','tenant_admin','editor','viewer')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((role = 'platform_admin') = (tenant_id IS NULL))
      )`);
    await db.query(`CREATE UNIQUE INDEX users_email_key ON users (lower(email))`);
    await db.query(`CREATE INDEX users_tenant_idx ON users (tenant_id, id)`);

    await db.query(`
      CREATE TABLE refresh_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        token_hash char(64) NOT NULL,
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE UNIQUE INDEX refresh_tokens_hash_key ON refresh_tokens (token_hash)`);
    await db.query(`CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id)`);

    await db.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name varchar(100) NOT NULL,
        key_prefix varchar(16) NOT NULL,
        key_hash char(64) NOT NULL,
        created_by uuid REFERENCES users(id) ON DELETE SET NULL,
        last_used_at timestamptz,
        revoked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE UNIQUE INDEX api_keys_hash_key ON api_keys (key_hash)`);
    await db.query(`CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, id)`);

    await db.query(`
      CREATE TABLE channels (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name varchar(100) NOT NULL,
        provider varchar(20) NOT NULL CHECK (provider IN ('whatsapp_cloud','sandbox')),
        phone_number_id varchar(64) NOT NULL,
        waba_id varchar(64) NOT NULL,
        display_phone_number varchar(32) NOT NULL,
        access_token_sealed text NOT NULL,
        app_secret_sealed text NOT NULL,
        verify_token_sealed text NOT NULL,
        messages_per_second integer NOT NULL DEFAULT 80 CHECK (messages_per_second BETWEEN 1 AND 1000),
        fallback_template jsonb,
        settings jsonb NOT NULL DEFAULT '{}'::jsonb,
        status varchar(16) NOT NULL DEFAULT 'active' CHECK (status IN ('active','paused')),
        paused_reason varchar(500),
        quality_rating varchar(16),
        messaging_limit_tier varchar(32),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE UNIQUE INDEX channels_phone_number_id_key ON channels (phone_number_id)`);
    await db.query(`CREATE INDEX channels_tenant_idx ON channels (tenant_id, id)`);

    await db.query(`
      CREATE TABLE topics (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        key varchar(64) NOT NULL,
        name varchar(200) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE UNIQUE INDEX topics_tenant_key_key ON topics (tenant_id, key)`);

    await db.query(`
      CREATE TABLE subscribers (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        channel_id uuid NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
        phone varchar(20),
        wa_id varchar(32),
        user_id varchar(160),
        name varchar(200),
        status varchar(16) NOT NULL CHECK (status IN ('pending','active','unsubscribed')),
        consent_source varchar(16) NOT NULL CHECK (consent_source IN ('keyword','web_form','import','api')),
        subscribed_at timestamptz,
        unsubscribed_at timestamptz,
        last_inbound_at timestamptz,
        last_auto_reply_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (phone IS NOT NULL OR user_id IS NOT NULL)
      )`);
    await db.query(`CREATE UNIQUE INDEX subscribers_channel_phone_key ON subscribers (tenant_id, channel_id, phone) WHERE phone IS NOT NULL`);
    await db.query(`CREATE UNIQUE INDEX subscribers_channel_user_key ON subscribers (tenant_id, channel_id, user_id) WHERE user_id IS NOT NULL`);
    await db.query(`CREATE INDEX subscribers_audience_idx ON subscribers (tenant_id, channel_id, status, id)`);
    await db.query(`CREATE INDEX subscribers_tenant_id_idx ON subscribers (tenant_id, id)`);

    await db.query(`
      CREATE TABLE subscriber_topics (
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        subscriber_id uuid NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
        topic_id uuid NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, subscriber_id, topic_id)
      )`);
    await db.query(`CREATE INDEX subscriber_topics_topic_idx ON subscriber_topics (tenant_id, topic_id, subscriber_id)`);

    // Append-only: the history of every opt-in and opt-out.
    await db.query(`
      CREATE TABLE consent_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        subscriber_id uuid REFERENCES subscribers(id) ON DELETE SET NULL,
        channel_id uuid NOT NULL,
        action varchar(16) NOT NULL CHECK (action IN ('requested','subscribed','unsubscribed','erased')),
        source varchar(16) NOT NULL,
        message_id varchar(255),
        privacy_notice_version varchar(64),
        details jsonb,
        occurred_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX consent_events_subscriber_idx ON consent_events (tenant_id, subscriber_id, id)`);
    await db.query(`CREATE INDEX consent_events_time_idx ON consent_events (tenant_id, occurred_at)`);

    // Keyed hashes of erased numbers, so that an opt-out is honoured after GDPR erasure.
    await db.query(`
      CREATE TABLE suppressed_contacts (
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        channel_id uuid NOT NULL,
        contact_hash char(64) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, channel_id, contact_hash)
      )`);

    await db.query(`
      CREATE TABLE campaigns (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        channel_id uuid NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
        title varchar(200) NOT NULL,
        message jsonb NOT NULL,
        topics text[] NOT NULL DEFAULT '{}',
        priority varchar(16) NOT NULL DEFAULT 'normal' CHECK (priority IN ('normal','emergency')),
        status varchar(16) NOT NULL DEFAULT 'draft' CHECK (status IN ('draft','scheduled','sending','completed','cancelled','failed')),
        scheduled_at timestamptz,
        created_by uuid,
        sent_by uuid,
        started_at timestamptz,
        completed_at timestamptz,
        cancelled_at timestamptz,
        failure_reason varchar(500),
        recipients integer NOT NULL DEFAULT 0,
        queued_count integer NOT NULL DEFAULT 0,
        sent_count integer NOT NULL DEFAULT 0,
        delivered_count integer NOT NULL DEFAULT 0,
        read_count integer NOT NULL DEFAULT 0,
        failed_count integer NOT NULL DEFAULT 0,
        skipped_count integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX campaigns_tenant_idx ON campaigns (tenant_id, id)`);
    await db.query(`CREATE INDEX campaigns_status_idx ON campaigns (status, scheduled_at)`);

    await db.query(`
      CREATE TABLE deliveries (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id uuid NOT NULL,
        campaign_id uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
        channel_id uuid NOT NULL,
        subscriber_id uuid,
        recipient varchar(160),
        status varchar(16) NOT NULL CHECK (status IN ('queued','sending','sent','delivered','read','failed','skipped')),
        kind varchar(20) NOT NULL DEFAULT 'campaign',
        reason varchar(64),
        provider_message_id varchar(255),
        error_code integer,
        error_detail varchar(500),
        attempts integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        delivered_at timestamptz,
        read_at timestamptz,
        failed_at timestamptz
      )`);
    await db.query(`CREATE UNIQUE INDEX deliveries_campaign_subscriber_key ON deliveries (tenant_id, campaign_id, subscriber_id)`);
    await db.query(`CREATE INDEX deliveries_campaign_status_idx ON deliveries (tenant_id, campaign_id, status, id)`);
    await db.query(`CREATE UNIQUE INDEX deliveries_provider_message_key ON deliveries (provider_message_id) WHERE provider_message_id IS NOT NULL`);
    await db.query(`CREATE INDEX deliveries_queued_idx ON deliveries (updated_at) WHERE status IN ('queued','sending')`);

    await db.query(`
      CREATE TABLE inbound_messages (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        channel_id uuid NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
        subscriber_id uuid REFERENCES subscribers(id) ON DELETE SET NULL,
        provider_message_id varchar(255) NOT NULL,
        type varchar(32) NOT NULL,
        from_phone varchar(20),
        from_user_id varchar(160),
        text text,
        context_message_id varchar(255),
        campaign_id uuid,
        payload jsonb NOT NULL,
        handled_as varchar(32),
        received_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE UNIQUE INDEX inbound_messages_provider_key ON inbound_messages (channel_id, provider_message_id)`);
    await db.query(`CREATE INDEX inbound_messages_tenant_idx ON inbound_messages (tenant_id, channel_id, received_at)`);
    await db.query(`CREATE INDEX inbound_messages_campaign_idx ON inbound_messages (tenant_id, campaign_id, type) WHERE campaign_id IS NOT NULL`);

    await db.query(`
      CREATE TABLE poll_votes (
        tenant_id uuid NOT NULL,
        campaign_id uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
        subscriber_id uuid NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
        option_index smallint NOT NULL,
        answered_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, campaign_id, subscriber_id)
      )`);

    // Raw webhook bodies, for audit and replay, purged after the retention period.
    await db.query(`
      CREATE TABLE webhook_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id uuid,
        channel_id uuid,
        body_sha256 char(64) NOT NULL,
        payload jsonb NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        processed_at timestamptz,
        error varchar(1000)
      )`);
    await db.query(`CREATE INDEX webhook_events_received_idx ON webhook_events (received_at)`);
    await db.query(`CREATE INDEX webhook_events_unprocessed_idx ON webhook_events (id) WHERE processed_at IS NULL`);

    // Messages of sandbox channels: what a trial comune "sent" and what the simulated phone wrote.
    await db.query(`
      CREATE TABLE sandbox_messages (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        channel_id uuid NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
        direction varchar(8) NOT NULL CHECK (direction IN ('outbound','inbound')),
        contact varchar(160) NOT NULL,
        provider_message_id varchar(255) NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX sandbox_messages_contact_idx ON sandbox_messages (tenant_id, channel_id, contact, id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of [
      'sandbox_messages',
      'webhook_events',
      'poll_votes',
      'inbound_messages',
      'deliveries',
      'campaigns',
      'suppressed_contacts',
      'consent_events',
      'subscriber_topics',
      'subscribers',
      'topics',
      'channels',
      'api_keys',
      'refresh_tokens',
      'users',
      'tenants',
    ]) {
      await db.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
