// The alerts, and the recording rules they read, in one group: each alert reads
// the records of the same evaluation.
//
// What the alerts act on is the last known state of each account, held here
// by the rules; the exporter serves what its own polls found. Held, because
// the page must not resolve without news from AWS: an account's page resolves
// only after a successful poll shows it healthy, or when the account leaves
// every exporter's configuration.
//
// An account is one AWS account id in one region of one install (the
// `groupLabels` of _config: cluster, namespace, job): the exporter says each
// target's account id (pinpoint_email_account_info; a target whose id it does
// not know is its own account, by name), so two installs that both call a
// target `default`, or a renamed target, never merge or split accounts.
//
// The records hold conditions, not values: a series for each condition an
// account has had in the last `holdFor` (SHUTDOWN, sending disabled, a quota
// used over the warning threshold, ...), 1 or the value while it holds, 0
// once a fresh poll showed it gone. A healthy account has no series at all:
// the rules cost next to nothing per account, and what they read back of
// their own past is only the few accounts that had a condition. Each record
// reads its own past over `holdFor`, so a Prometheus outage of any length up
// to it changes nothing, and the newest sample of a condition is always the
// last thing known of it: a value that went away (0) never comes back.
//
// Every evaluation, for each condition series:
// - its account has a fresh successful poll (an exporter is scraped and the
//   poll succeeded): the fresh value, or 0 when the condition is gone;
// - its account is polled but no poll is fresh (polls fail, the exporter
//   dropped stale values): the last value, for as long as that lasts;
// - no scraped exporter has the account: if its own exporter (or, when that
//   is no longer scraped, one of its install and shard) is up and has all its
//   targets (pinpoint_email_exporter_targets_complete, 0 while a discovery
//   has not listed its accounts since start-up), and every shard of the
//   install has such an exporter (a reshard or rename may have moved the
//   account to a shard that is down), the account left the configuration: 0.
//   Otherwise (its exporter is down, gone in a node drain or a rollout, still
//   listing, or a shard is missing): the last value, while an exporter of its
//   install and shard was scraped within `holdFor`; then 0;
// - a 0 goes once the condition last held `holdFor` ago.
//
// Every join between series of one exporter is on all of its labels (the
// install's, the shard, job, instance): two clusters may well scrape their
// exporters at the same address.
//
// The one read of a record's past is its `_previous` record, evaluated just
// before it: the last value of each condition that held within `holdFor`.
// At 10,000 account-regions the group reads about 3.1 million samples per
// evaluation with 1 % of the accounts held, 4.4 million with 10 %, and adds
// 0.09 and 0.27 series per account-region (docs/rule_cost.md,
// bench/rule_cost.py).
//
// PinpointEmailShardMissing says when a shard of an install has no exporter,
// PinpointEmailDiscoveryFailing when a discovery cannot list its accounts.
{
  local c = $._config,
  // `expr` with %(...)s filled from the config (%(m)s: the selector's matchers).
  // (increase() extrapolates: "at least N calls" is "more than N - 0.5".)
  local q(expr) = expr % (c { m: c.pinpointEmailMatchers, throttledMinCallsBound: c.throttledMinCalls - 0.5 }),
  local list(labels) = std.join(', ', std.set(labels)),

  // Label sets: an install's shard, an exporter, an account in a region, a
  // held condition.
  local shard = list(c.groupLabels + [c.shardLabel]),
  local install = list(c.groupLabels),
  local exporter = list(c.groupLabels + [c.shardLabel, 'job', 'instance']),
  local account = list(c.groupLabels + ['account_id', 'aws_region']),
  // A held condition is one per these and its own labels (`status` for an
  // account's, the identity for an identity's).
  local heldBy(own) = list(c.groupLabels + [c.shardLabel, 'job', 'instance', 'account_id', 'aws_region', 'account'] + own),
  local alertBy(own) = list(c.groupLabels + ['account_id', 'aws_region', 'account'] + own),
  local perTarget = list(c.groupLabels + ['account', 'aws_region']),

  local alert(name, severity, expr, summary, description, extra={}) = {
    alert: name,
    expr: q(expr),
    [if std.objectHas(c.alertFor, name) then 'for']: c.alertFor[name],
    labels: { severity: severity },
    annotations: {
      summary: summary,
      description: description,
      runbook_url: c.runbookURLPattern % std.asciiLower(name),
    },
  } + extra,

  local accountIds = 'job_instance_account:pinpoint_email_account_id:info',
  // `series` (of one exporter, per target and region) with the account_id
  // of its target.
  local keyed(series) = '(%s) * on (%s, account) group_left (account_id) group by (%s, account, account_id) (%s)' % [series, exporter, exporter, accountIds],
  // `series` where the exporter's last `up` poll of the target and region
  // succeeded.
  local freshFrom(series, up) = '%s and on (%s, account, aws_region) (%s{%%(m)s} == 1)' % [series, exporter, up],

  // A region sends (the activity the exporter's schedules will use too):
  // production access, mail sent in the last 24 hours, or a recent reputation
  // datapoint. Per exporter, target and region.
  local sends = |||
    group by (%(exporter)s, account, aws_region) (
        pinpoint_email_production_access_enabled{%%(m)s} == 1
      or
        pinpoint_email_send_quota_sent_emails{%%(m)s} > 0
      or
        time() - pinpoint_email_reputation_bounce_ratio_timestamp_seconds{%%(m)s} < %%(activityWindowSeconds)d
    )
  ||| % { exporter: exporter },

  // The record `record` of conditions polled by a collector: `up` is the
  // collector's poll health series, `polled` its call counter (which exists
  // while the exporter polls the target and region, from its start),
  // `conditions` maps each condition to the series that has it (per exporter,
  // target and region; only where the condition holds, with a value above 0).
  // `observed` says which accounts the conditions are fresh for; `own` are
  // the labels a condition keeps beside the account's.
  local conditions(record, up, polled, conditions, observed=null, own=['status']) =
    // What the record held at its last evaluation, for the conditions that
    // held within holdFor (older 0s end here): the one read of its past.
    local previous = record + '_previous';
    local present = 'group by (%s) (%s)' % [account, keyed('%s{%%(m)s}' % polled)];
    local fresh = if observed == null then 'group by (%s) (%s)' % [account, keyed('%s{%%(m)s} == 1' % up)] else observed;
    // Exporters that are up and have all their targets: what they lack is
    // not configured.
    local complete = '(up{%%(m)s} == 1 unless on (%s) (pinpoint_email_exporter_targets_complete{%%(m)s} == 0))' % exporter;
    local completeShard = 'group by (%s) %s' % [shard, complete];
    // Installs whose every shard (--shard.count, the same for all of them:
    // not in the middle of a reshard) has such an exporter: only then is an
    // account missing from all of them taken as removed (a shard that is
    // down may be where a reshard or rename moved it).
    // (Exporters that do not say their shards are an install of one.)
    local whole = '(group by (%(i)s) (count by (%(i)s) (count_values by (%(i)s) ("shard_index", pinpoint_email_exporter_shard_index{%%(m)s} and on (%(e)s) %(c)s)) >= on (%(i)s) (max by (%(i)s) (pinpoint_email_exporter_shards{%%(m)s} and on (%(e)s) %(c)s) == on (%(i)s) min by (%(i)s) (pinpoint_email_exporter_shards{%%(m)s} and on (%(e)s) %(c)s))) or (group by (%(i)s) %(c)s unless on (%(i)s) pinpoint_email_exporter_shards{%%(m)s}))' % { i: install, e: exporter, c: complete };
    local scraped = 'up{%(m)s}';
    local seen = 'group by (%s) (last_over_time(up{%%(m)s}[%s]))' % [shard, c.holdFor];
    local now = std.join('\nor\n', [
      'label_replace(max by (%s) (%s), "condition", "%s", "", "")' % [heldBy(own), keyed(if observed == null then freshFrom(conditions[name], up) else conditions[name]), name]
      for name in std.objectFields(conditions)
    ]);
    local gone = '(%s unless on (%s) %s)' % [previous, account, present];
    // ... and whose own exporter is no longer scraped at all.
    local orphaned = '(%s unless on (%s) up{%%(m)s})' % [gone, exporter];
    [
      {
        record: previous,
        expr: 'last_over_time(%(r)s[%(h)s]) and max_over_time(%(r)s[%(h)s]) > 0' % { r: record, h: c.holdFor },
      },
      {
        record: record,
        expr: q(|||
          %(now)s
          or
            %(previous)s * 0 and on (%(account)s) %(fresh)s
          or
            (%(previous)s unless on (%(account)s) %(fresh)s) and on (%(account)s) %(present)s
          or
            %(gone)s * 0 and on (%(exporter)s) %(complete)s and on (%(install)s) %(whole)s
          or
            %(gone)s and on (%(exporter)s) %(scraped)s unless on (%(exporter)s) (%(complete)s and on (%(install)s) %(whole)s)
          or
            %(orphaned)s * 0 and on (%(shard)s) %(completeShard)s and on (%(install)s) %(whole)s
          or
            %(orphaned)s and on (%(shard)s) %(completeShard)s unless on (%(install)s) %(whole)s
          or
            %(orphaned)s unless on (%(shard)s) %(completeShard)s and on (%(shard)s) %(seen)s
          or
            (%(orphaned)s unless on (%(shard)s) %(completeShard)s unless on (%(shard)s) %(seen)s) * 0
        ||| % {
          now: now,
          previous: previous,
          gone: gone,
          orphaned: orphaned,
          account: account,
          shard: shard,
          fresh: fresh,
          present: present,
          complete: complete,
          completeShard: completeShard,
          scraped: scraped,
          seen: seen,
          exporter: exporter,
          install: install,
          whole: whole,
        }),
      },
    ],

  local accountConditions = 'account_aws_region:pinpoint_email_account_condition:held',
  local reputationConditions = 'account_aws_region:pinpoint_email_reputation_condition:held',
  local staleConditions = 'account_aws_region:pinpoint_email_data_stale:held',
  local identityConditions = 'account_aws_region_identity:pinpoint_email_identity_condition:held',
  local identity = ['identity', 'identity_type'],
  // An identity's state set `metric` at TEMPORARY_FAILURE, or at FAILED
  // where the rules hold `condition` for it already.
  local lost(metric, condition) =
    '(%s{%%(m)s, status="TEMPORARY_FAILURE"} > 0 or %s{%%(m)s, status="FAILED"} > 0 and on (%s) %s_previous{condition="%s"} > 0)'
    % [metric, metric, list(c.groupLabels + ['account', 'aws_region', 'identity']), identityConditions, condition],
  // A held condition, as the alerts see it: one per account (and its own
  // labels), whichever exporters (an HA pair, a rollout, a reshard) had it.
  local held(record, condition, own=['status']) = 'max by (%s) (%s{condition="%s"})' % [alertBy(own), record, condition],

  prometheusAlerts+:: {
    groups+: [{
      name: 'pinpoint-email',
      rules: [
               // The account id of each target of each exporter: the exporter's
               // pinpoint_email_account_info where it says it; else (a restarted
               // exporter that has not asked STS yet) the id the target of that
               // name had most recently in the install within holdFor; else the
               // target's name. Its value is when the exporter last said the id
               // (the joins take it as 1), so that the newest id wins.
               {
                 record: accountIds,
                 expr: q(|||
                   0 * group by (%(exporter)s, account, account_id) (pinpoint_email_account_info{%%(m)s, account_id!=""}) + time()
                   or
                   (
                     group by (%(exporter)s, account) (%(polled)s)
                     * on (%(install)s, account) group_left (account_id)
                     topk by (%(install)s, account) (1, max by (%(install)s, account, account_id) (%(known)s))
                     unless on (%(exporter)s, account) pinpoint_email_account_info{%%(m)s, account_id!=""}
                   )
                   or
                   (
                     0 * label_replace(group by (%(exporter)s, account) (%(polled)s), "account_id", "$1", "account", "(.+)") + time()
                     unless on (%(exporter)s, account) pinpoint_email_account_info{%%(m)s, account_id!=""}
                     unless on (%(install)s, account) %(known)s
                   )
                 ||| % {
                   exporter: exporter,
                   install: install,
                   polled: '{__name__=~"pinpoint_email_(.+_)?polls_total", %(m)s}',
                   // Every 5 minutes of the past is enough to remember an id, and
                   // reads a tenth of the samples.
                   known: 'last_over_time(%s{%%(m)s, account_id=~"[0-9]{12}"}[%s:5m])' % [accountIds, c.holdFor],
                 }),
               },
             ] + conditions(accountConditions, 'pinpoint_email_up', 'pinpoint_email_polls_total', {
               shutdown: 'pinpoint_email_enforcement_status{%(m)s, status="SHUTDOWN"} > 0',
               probation: 'pinpoint_email_enforcement_status{%(m)s, status="PROBATION"} > 0',
               // A status AWS adds (UNKNOWN is none at all).
               unexpected_status: 'pinpoint_email_enforcement_status{%(m)s, status!~"HEALTHY|PROBATION|SHUTDOWN|UNKNOWN"} > 0',
               sending_disabled: '1 - pinpoint_email_sending_enabled{%(m)s} > 0',
               // In the sandbox although the target does not set expect_sandbox,
               // and sending.
               sandbox: '(1 - pinpoint_email_production_access_enabled{%%(m)s}) * (1 - pinpoint_email_sandbox_expected{%%(m)s}) > 0 and on (%s, account, aws_region) %s' % [exporter, sends],
               review_denied: 'pinpoint_email_production_access_review_status{%(m)s, status="DENIED"} > 0',
               quota_used: 'pinpoint_email_send_quota_used_ratio{%(m)s} > %(quotaUsageWarning)g',
             })
             // Failed calls a second by install, region and reason, for the
             // dashboard: every reason of every account-region has its counter (8
             // per account-region), more than a 7-day panel may read at thousands
             // of account-regions.
             + [{
               record: 'aws_region_reason:pinpoint_email_poll_errors:rate5m',
               expr: q('sum by (%s) (rate(pinpoint_email_poll_errors_total{%%(m)s}[5m]))' % list(c.groupLabels + ['aws_region', 'reason'])),
             }]
             // A fresh answer without a datapoint (an account that stopped
             // sending) has no rate.
             + conditions(reputationConditions, 'pinpoint_email_reputation_up', 'pinpoint_email_reputation_polls_total', {
               bounce_rate: 'pinpoint_email_reputation_bounce_ratio{%(m)s} >= %(bounceRateWarning)g',
               complaint_rate: 'pinpoint_email_reputation_complaint_ratio{%(m)s} >= %(complaintRateWarning)g',
             })
             // The newest successful poll of an account, while it is older than
             // dataStaleAfterSeconds: known from every exporter that polls the
             // account, failing or not.
             + conditions(
               staleConditions,
               'pinpoint_email_up',
               'pinpoint_email_polls_total',
               { data_stale: 'pinpoint_email_last_success_timestamp_seconds{%%(m)s} < time() - %%(dataStaleAfterSeconds)d unless on (%(perTarget)s) pinpoint_email_last_success_timestamp_seconds{%%(m)s} >= time() - %%(dataStaleAfterSeconds)d' % { perTarget: perTarget } },
               observed='group by (%s) (%s)' % [account, keyed('pinpoint_email_last_success_timestamp_seconds{%(m)s}')],
             )
             // Each email identity's failing statuses (the identities
             // collector), held per identity like the account's.
             // SES turns a status that was SUCCESS TEMPORARY_FAILURE first, and
             // FAILED after up to 72 hours; one that never succeeded goes from
             // PENDING to FAILED. So TEMPORARY_FAILURE is a condition, and
             // FAILED only where the rules already hold it (after
             // TEMPORARY_FAILURE): an address whose owner never confirmed it,
             // or DKIM never set up in DNS, does not page.
             + conditions(identityConditions, 'pinpoint_email_identities_up', 'pinpoint_email_identities_polls_total', {
               verification_failed: lost('pinpoint_email_identity_verification_status', 'verification_failed'),
               dkim_failing: lost('pinpoint_email_identity_dkim_status', 'dkim_failing'),
               mail_from_failing: lost('pinpoint_email_identity_mail_from_status', 'mail_from_failing'),
               // Verified, so that a new identity (not verified yet, and so
               // not sending) does not page.
               sending_disabled: '1 - pinpoint_email_identity_sending_enabled{%%(m)s} > 0 and on (%s, account, aws_region, identity) pinpoint_email_identity_verified_for_sending{%%(m)s} == 1' % exporter,
             }, own=identity) + [
        alert(
          'PinpointEmailAccountShutdown',
          'critical',
          held(accountConditions, 'shutdown') + ' == 1',
          'Email sending of {{ $labels.account }} in {{ $labels.aws_region }} is shut down by AWS.',
          'AWS set the enforcement status of {{ $labels.account }} in {{ $labels.aws_region }} to SHUTDOWN, so the account cannot send email until AWS reinstates it.',
        ),
        alert(
          'PinpointEmailAccountProbation',
          'critical',
          held(accountConditions, 'probation') + ' == 1',
          '{{ $labels.account }} in {{ $labels.aws_region }} is on probation with AWS.',
          'AWS put {{ $labels.account }} in {{ $labels.aws_region }} on PROBATION for its bounce or complaint rates; unless they improve, AWS shuts its sending down.',
        ),
        // A status AWS added after this exporter was written: its meaning is
        // unknown, so it pages.
        alert(
          'PinpointEmailEnforcementStatusUnexpected',
          'critical',
          held(accountConditions, 'unexpected_status') + ' == 1',
          'AWS reports the enforcement status {{ $labels.status }} for {{ $labels.account }} in {{ $labels.aws_region }}.',
          'The enforcement status of {{ $labels.account }} in {{ $labels.aws_region }} is {{ $labels.status }}, which is none of HEALTHY, PROBATION and SHUTDOWN; look it up in the AWS console and the SES documentation before mail stops.',
        ),
        alert(
          'PinpointEmailSendingDisabled',
          'critical',
          held(accountConditions, 'sending_disabled') + ' == 1',
          'Email sending is disabled for {{ $labels.account }} in {{ $labels.aws_region }}.',
          'SendingEnabled is false for {{ $labels.account }} in {{ $labels.aws_region }}; no email goes out from this account and region.',
        ),
        // No upper bound: while PinpointEmailQuotaNearlyExhausted fires,
        // Alertmanager inhibits this one (deploy/prometheus/alertmanager.yml).
        alert(
          'PinpointEmailQuotaUsageHigh',
          'warning',
          held(accountConditions, 'quota_used') + ' > %(quotaUsageWarning)g',
          '{{ $labels.account }} in {{ $labels.aws_region }} has used {{ $value | humanizePercentage }} of its 24-hour quota.',
          '{{ $labels.account }} in {{ $labels.aws_region }} sent {{ $value | humanizePercentage }} of its 24-hour sending quota; above 100 % AWS refuses to send.',
        ),
        alert(
          'PinpointEmailQuotaNearlyExhausted',
          'critical',
          held(accountConditions, 'quota_used') + ' > %(quotaUsageCritical)g',
          '{{ $labels.account }} in {{ $labels.aws_region }} has used {{ $value | humanizePercentage }} of its 24-hour quota.',
          '{{ $labels.account }} in {{ $labels.aws_region }} is about to run out of its 24-hour sending quota ({{ $value | humanizePercentage }} used); then AWS refuses to send.',
          { keep_firing_for: c.quotaNearlyExhaustedKeepFiringFor },
        ),
        // A forecast needs data: it resolves after an hour without a
        // successful poll (the sent count is not held). An unlimited quota is
        // +Inf, which no forecast exceeds. The last hour is read every 5
        // minutes (a subquery), not at every scrape: 12 points per account.
        alert(
          'PinpointEmailQuotaExhaustionPredicted',
          'warning',
          |||
            predict_linear((max by (%(accountName)s) (%(sent)s))[1h:5m], %%(quotaExhaustionHorizonHours)g * 3600)
            > on (%(account)s) group_left ()
            min by (%(account)s) (%(max)s)
          ||| % {
            account: account,
            accountName: list(c.groupLabels + ['account_id', 'aws_region', 'account']),
            sent: keyed(freshFrom('pinpoint_email_send_quota_sent_emails{%(m)s}', 'pinpoint_email_up')),
            max: keyed(freshFrom('pinpoint_email_send_quota_max_emails{%(m)s}', 'pinpoint_email_up')),
          },
          '{{ $labels.account }} in {{ $labels.aws_region }} will run out of its 24-hour quota within %g hours.' % c.quotaExhaustionHorizonHours,
          'At the sending rate of the last hour, {{ $labels.account }} in {{ $labels.aws_region }} reaches its 24-hour sending quota within %g hours.' % c.quotaExhaustionHorizonHours,
        ),
        // Targets that set expect_sandbox: true in the targets file never fire
        // it, nor do regions that do not send (an organization's unused
        // regions).
        alert(
          'PinpointEmailInSandbox',
          'warning',
          held(accountConditions, 'sandbox') + ' == 1',
          '{{ $labels.account }} in {{ $labels.aws_region }} is in the sandbox.',
          '{{ $labels.account }} in {{ $labels.aws_region }} has no production access: it can only send to verified identities, 200 emails a day at 1 per second. If it is meant to stay there, set expect_sandbox: true for its target.',
        ),
        // SES v2 only: needs targets polled with api sesv2 or auto.
        alert(
          'PinpointEmailProductionAccessDenied',
          'warning',
          held(accountConditions, 'review_denied') + ' == 1',
          'AWS denied the production access request of {{ $labels.account }} in {{ $labels.aws_region }}.',
          'The production access request of {{ $labels.account }} in {{ $labels.aws_region }} was DENIED, so the account stays in the sandbox (verified recipients only, 200 emails a day).',
        ),
        // The reputation alerts fire before AWS acts. While a critical one
        // fires, Alertmanager inhibits its warning
        // (deploy/prometheus/alertmanager.yml).
        alert(
          'PinpointEmailBounceRateHigh',
          'warning',
          held(reputationConditions, 'bounce_rate') + ' >= %(bounceRateWarning)g',
          'The bounce rate of {{ $labels.account }} in {{ $labels.aws_region }} is {{ $value | humanizePercentage }}.',
          'The bounce rate of {{ $labels.account }} in {{ $labels.aws_region }} is {{ $value | humanizePercentage }}, over the 2 % AWS recommends; at 5 % AWS puts the account under review.',
        ),
        alert(
          'PinpointEmailBounceRateCritical',
          'critical',
          held(reputationConditions, 'bounce_rate') + ' >= %(bounceRateCritical)g',
          'The bounce rate of {{ $labels.account }} in {{ $labels.aws_region }} is {{ $value | humanizePercentage }}, close to the 5 % at which AWS reviews accounts.',
          'The bounce rate of {{ $labels.account }} in {{ $labels.aws_region }} is {{ $value | humanizePercentage }}; from 5 % AWS puts the account under review (PROBATION), from 10 % it may pause its sending. Act now, before the review.',
        ),
        alert(
          'PinpointEmailComplaintRateHigh',
          'warning',
          held(reputationConditions, 'complaint_rate') + ' >= %(complaintRateWarning)g',
          'The complaint rate of {{ $labels.account }} in {{ $labels.aws_region }} is {{ $value | humanizePercentage }}.',
          'The complaint rate of {{ $labels.account }} in {{ $labels.aws_region }} is {{ $value | humanizePercentage }}, half way to the 0.1 % at which AWS puts the account under review.',
        ),
        alert(
          'PinpointEmailComplaintRateCritical',
          'critical',
          held(reputationConditions, 'complaint_rate') + ' >= %(complaintRateCritical)g',
          'The complaint rate of {{ $labels.account }} in {{ $labels.aws_region }} is {{ $value | humanizePercentage }}, close to the 0.1 % at which AWS reviews accounts.',
          'The complaint rate of {{ $labels.account }} in {{ $labels.aws_region }} is {{ $value | humanizePercentage }}; from 0.1 % AWS puts the account under review (PROBATION), from 0.5 % it may pause its sending. Act now, before the review.',
        ),
        // An account that sent mail in the last 24 hours whose newest
        // bounce-rate datapoint is too old: the reputation alerts are blind
        // for it. One that never had a datapoint is quiet: CloudWatch has
        // none for small senders. Whether it sent mail comes from the account
        // collector: a target without it never fires this alert.
        alert(
          'PinpointEmailReputationDataStale',
          'warning',
          |||
            time() - max by (%(accountName)s) (%(newest)s) > %%(reputationDataStaleAfterSeconds)d
            and on (%(account)s)
            group by (%(account)s) (%(sent)s)
          ||| % {
            account: account,
            accountName: list(c.groupLabels + ['account_id', 'aws_region', 'account']),
            newest: keyed(freshFrom('pinpoint_email_reputation_bounce_ratio_timestamp_seconds{%(m)s}', 'pinpoint_email_reputation_up')),
            sent: keyed(freshFrom('pinpoint_email_send_quota_sent_emails{%(m)s} > 0', 'pinpoint_email_up')),
          },
          'CloudWatch has no recent bounce rate of {{ $labels.account }} in {{ $labels.aws_region }}, which is sending.',
          "{{ $labels.account }} in {{ $labels.aws_region }} sent email in the last 24 hours, but CloudWatch's newest Reputation.BounceRate datapoint for it is over %s old; the bounce and complaint rate alerts cannot warn of a review." % seconds(c.reputationDataStaleAfterSeconds),
        ),
        alert(
          'PinpointEmailReputationPollsFailing',
          'warning',
          'pinpoint_email_reputation_up{%(m)s} == 0',
          'CloudWatch calls for the reputation of {{ $labels.account }} in {{ $labels.aws_region }} have been failing for %s at {{ $labels.instance }}.' % duration(c.alertFor, 'PinpointEmailReputationPollsFailing'),
          'The exporter at {{ $labels.instance }} cannot read the bounce and complaint rates of {{ $labels.account }} in {{ $labels.aws_region }}; pinpoint_email_reputation_poll_errors_total and the log tell why (often a missing cloudwatch:GetMetricData permission).',
        ),
        // A dedicated IP warming up whose percentage has not moved (and was
        // already known that long ago). The dedicated-IPs collector.
        alert(
          'PinpointEmailDedicatedIpWarmupStuck',
          'warning',
          |||
            max by (account, aws_region, ip, pool) (pinpoint_email_dedicated_ip_warmup_status{%(m)s, status="IN_PROGRESS"}) == 1
            and on (account, aws_region, ip, pool)
              max by (account, aws_region, ip, pool) (max_over_time(pinpoint_email_dedicated_ip_warmup_ratio{%(m)s}[%(warmupStuckAfter)s]))
              == max by (account, aws_region, ip, pool) (min_over_time(pinpoint_email_dedicated_ip_warmup_ratio{%(m)s}[%(warmupStuckAfter)s]))
            and on (account, aws_region, ip, pool)
              max by (account, aws_region, ip, pool) (pinpoint_email_dedicated_ip_warmup_ratio{%(m)s} offset %(warmupStuckAfter)s)
          |||,
          'The warm-up of dedicated IP {{ $labels.ip }} of {{ $labels.account }} in {{ $labels.aws_region }} has not moved for %s.' % words(c.warmupStuckAfter),
          'Dedicated IP {{ $labels.ip }} (pool {{ $labels.pool }}) of {{ $labels.account }} in {{ $labels.aws_region }} is still IN_PROGRESS and its warm-up percentage has not changed in %s; mail sent from it may be throttled by receivers meanwhile.' % words(c.warmupStuckAfter),
        ),
        // The identities collector: each identity's own page, held like the
        // account's. The verification status is SES v2's only.
        alert(
          'PinpointEmailIdentityVerificationFailed',
          'critical',
          held(identityConditions, 'verification_failed', identity) + ' == 1',
          'Email identity {{ $labels.identity }} of {{ $labels.account }} in {{ $labels.aws_region }} is not verified.',
          'SES reports the verification of {{ $labels.identity_type }} {{ $labels.identity }} ({{ $labels.account }}, {{ $labels.aws_region }}) as FAILED or TEMPORARY_FAILURE: its DNS records (or, for an address, its confirmation) no longer prove ownership. Mail from it is refused once it is FAILED (after up to 72 hours of TEMPORARY_FAILURE).',
        ),
        alert(
          'PinpointEmailIdentityDkimFailing',
          'warning',
          held(identityConditions, 'dkim_failing', identity) + ' == 1',
          'DKIM of {{ $labels.identity }} ({{ $labels.account }}, {{ $labels.aws_region }}) is failing.',
          'SES reports the DKIM status of {{ $labels.identity }} ({{ $labels.account }}, {{ $labels.aws_region }}) as FAILED or TEMPORARY_FAILURE: its DKIM CNAME (or TXT) records are missing or wrong, and its mail goes out without its own DKIM signature, which receivers and DMARC may reject.',
        ),
        alert(
          'PinpointEmailIdentityMailFromFailing',
          'warning',
          held(identityConditions, 'mail_from_failing', identity) + ' == 1',
          'The MAIL FROM domain of {{ $labels.identity }} ({{ $labels.account }}, {{ $labels.aws_region }}) is failing.',
          'SES reports the custom MAIL FROM domain of {{ $labels.identity }} ({{ $labels.account }}, {{ $labels.aws_region }}) as FAILED or TEMPORARY_FAILURE: its MX or SPF record is missing or wrong. With behavior_on_mx_failure REJECT_MESSAGE (pinpoint_email_identity_mail_from_status says which) SES refuses the mail; else it falls back to amazonses.com, and SPF no longer aligns for DMARC.',
        ),
        alert(
          'PinpointEmailIdentitySendingDisabled',
          'critical',
          held(identityConditions, 'sending_disabled', identity) + ' == 1',
          'Sending from {{ $labels.identity }} ({{ $labels.account }}, {{ $labels.aws_region }}) is disabled.',
          'SendingEnabled is false for the verified identity {{ $labels.identity }} ({{ $labels.account }}, {{ $labels.aws_region }}): SES refuses mail from it although the account may send.',
        ),
        alert(
          'PinpointEmailIdentityPollsFailing',
          'warning',
          'pinpoint_email_identities_up{%(m)s} == 0',
          'Polls of the email identities of {{ $labels.account }} in {{ $labels.aws_region }} have been failing for %s at {{ $labels.instance }}.' % duration(c.alertFor, 'PinpointEmailIdentityPollsFailing'),
          'The exporter at {{ $labels.instance }} cannot read the email identities of {{ $labels.account }} in {{ $labels.aws_region }}; the identity alerts hold their last state meanwhile. pinpoint_email_identities_poll_errors_total and the log tell why (often ses:ListEmailIdentities or ses:GetEmailIdentity missing from the policy).',
        ),
        alert(
          'PinpointEmailExporterDown',
          'warning',
          'up{%(m)s} == 0',
          'Prometheus cannot scrape pinpoint-email-exporter at {{ $labels.instance }}.',
          'The scrape of {{ $labels.instance }} failed for %s; the account alerts hold the last known state of its accounts meanwhile.' % duration(c.alertFor, 'PinpointEmailExporterDown'),
        ),
        alert(
          'PinpointEmailExporterAbsent',
          'warning',
          'absent(up{%(m)s})',
          'No pinpoint-email-exporter is scraped.',
          'Prometheus has no scrape target matching {%s}; account status, quota and enforcement alerts are blind.' % c.pinpointEmailMatchers,
        ),
        // Per exporter: in an HA pair, the replica that cannot poll is named.
        // A target that never succeeded has no timestamp for DataStale, and
        // this fires for it.
        alert(
          'PinpointEmailPollsFailing',
          'warning',
          'pinpoint_email_up{%(m)s} == 0',
          'GetAccount calls for {{ $labels.account }} in {{ $labels.aws_region }} have been failing for %s at {{ $labels.instance }}.' % duration(c.alertFor, 'PinpointEmailPollsFailing'),
          "The exporter at {{ $labels.instance }} cannot get the account of {{ $labels.account }} in {{ $labels.aws_region }}; pinpoint_email_poll_errors_total and the exporter's log tell why (credentials, permissions, throttling, network).",
        ),
        // The age of what the account alerts act on: the newest successful
        // poll of any exporter, while it is too old; held through an exporter
        // outage like the conditions.
        alert(
          'PinpointEmailDataStale',
          'warning',
          'time() - (%s > 0) > %%(dataStaleAfterSeconds)d' % held(staleConditions, 'data_stale'),
          'The account data of {{ $labels.account }} in {{ $labels.aws_region }} is {{ $value | humanizeDuration }} old.',
          'The last successful GetAccount call for {{ $labels.account }} in {{ $labels.aws_region }} was {{ $value | humanizeDuration }} ago; the status and quota alerts act on that data.',
        ),
        // The share of throttled calls, over every exporter polling the
        // account: a throttled call now and then is normal, most calls
        // throttled is not. At least two throttled calls, so that one call of
        // few (a long --poll.interval) is not a quarter. (Each counter is read
        // once: the count of throttled calls filters before it divides.)
        alert(
          'PinpointEmailThrottled',
          'warning',
          |||
            (sum by (%(by)s) (increase(pinpoint_email_poll_errors_total{%%(m)s, reason="throttled"}[%%(throttledWindow)s])) > %%(throttledMinCallsBound)g)
            / on (%(by)s) sum by (%(by)s) (increase(pinpoint_email_polls_total{%%(m)s}[%%(throttledWindow)s]))
            > %%(throttledRatio)g
          ||| % { by: perTarget },
          'AWS throttles {{ $value | humanizePercentage }} of the GetAccount calls for {{ $labels.account }} in {{ $labels.aws_region }}.',
          "Over the last %s AWS answered TooManyRequestsException to {{ $value | humanizePercentage }} of the exporter's calls for {{ $labels.account }} in {{ $labels.aws_region }}; another client may share the account's API rate, or --poll.interval is too short." % words(c.throttledWindow),
        ),
        // A shard of an install has no exporter that is up, while another
        // shard's is: the accounts of the missing shard are held (for
        // holdFor after it was last scraped), and nothing new is known of
        // them.
        alert(
          'PinpointEmailShardMissing',
          'warning',
          |||
            max by (%(install)s) (pinpoint_email_exporter_shards{%%(m)s} and on (%(exporter)s) (up{%%(m)s} == 1))
            - count by (%(install)s) (count_values by (%(install)s) ("shard_index", pinpoint_email_exporter_shard_index{%%(m)s} and on (%(exporter)s) (up{%%(m)s} == 1)))
            > 0
          ||| % { install: install, exporter: exporter },
          '{{ $value }} shard(s) of pinpoint-email-exporter in {{ $labels.job }} have no exporter up.',
          'An install of pinpoint-email-exporter is configured for more shards (--shard.count) than it has exporters up; the accounts of the missing shards are not polled, and their alerts hold what was last known of them for %s.' % words(c.holdFor),
        ),
        // A discovery's listing has failed for a while: the exporter polls
        // the accounts of its last successful listing, or none if it has had
        // none since start-up (then their alerts hold).
        alert(
          'PinpointEmailDiscoveryFailing',
          'warning',
          'pinpoint_email_discovery_up{%(m)s} == 0',
          'Discovery {{ $labels.discovery }} cannot list the accounts of its AWS Organization at {{ $labels.instance }}.',
          'The exporter at {{ $labels.instance }} cannot list the accounts of discovery {{ $labels.discovery }}; it polls the accounts of its last successful listing, none if it has had none since it started. pinpoint_email_discovery_errors_total and the log tell why.',
        ),
      ],
    }],
  },

  // "5m" of an alert's `for`, or "at once" when it has none.
  local duration(alertFor, name) = if std.objectHas(alertFor, name) then words(alertFor[name]) else 'a while',
  // A Prometheus duration of one unit in words: "30m" -> "30 minutes"; any
  // other ("1h30m", "500ms") as it is.
  local words(d) =
    local units = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', y: 'year' };
    local n = std.substr(d, 0, std.length(d) - 1), u = d[std.length(d) - 1];
    local digits = std.length(n) > 0 && std.foldl(function(ok, ch) ok && ch >= '0' && ch <= '9', std.stringChars(n), true);
    if digits && std.objectHas(units, u) then n + ' ' + units[u] + (if n == '1' then '' else 's') else d,
  local seconds(s) =
    if s % 3600 == 0 then words('%dh' % (s / 3600))
    else if s % 60 == 0 then words('%dm' % (s / 60))
    else words('%ds' % s),
}
