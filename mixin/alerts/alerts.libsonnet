// The alerts, and the recording rules they read, in one group: each alert reads
// the records of the same evaluation.
//
// Where the last known state is held: here, and only here. The recording rules
// take each account value from the exporters whose last poll succeeded,
// aggregated over the exporters' own labels (instance, pod, job), so an HA pair
// pages once and a rollout or reshard changes nothing. When no exporter has a
// fresh value of an account that is still polled, the rules keep its last
// recorded value:
//
// - polls fail: the alerts keep their last state, neither resolving nor firing,
//   for as long as the polls fail; PinpointEmailPollsFailing and
//   PinpointEmailDataStale say why the data stopped;
// - an exporter is down (its scrapes fail): the same, for as long as it is
//   down; PinpointEmailExporterDown says so;
// - an exporter is gone (a pod replaced, a host moved): its accounts stay
//   polled until an exporter of its job (and shard) is up, for at most 6 hours;
// - AWS reinstates an account: the next successful poll resolves its alerts;
// - a running exporter no longer has the account (removed from its targets
//   file, moved to another shard): its alerts resolve at the next evaluation,
//   and no later outage brings them back.
//
// The exporter itself serves values for --poll.stale-after after its last
// successful poll (15m by default), for dashboards; the rules do not use them.
{
  local c = $._config,
  // `expr` with %(...)s filled from the config (%(m)s: the selector's matchers).
  // (increase() extrapolates: "at least N calls" is "more than N - 0.5".)
  local q(expr) = expr % (c { m: c.pinpointEmailMatchers, throttledMinCallsBound: c.throttledMinCalls - 0.5 }),

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

  // The value of one account series, from the exporters whose last poll
  // succeeded (`agg` over them), else the last value recorded while the
  // account is held.
  local held(record, agg, series, by='account, aws_region') = {
    record: record,
    expr: q(|||
      %(agg)s by (%(by)s) (
        %(series)s and on (job, instance, account, aws_region) (pinpoint_email_up{%%(m)s} == 1)
      )
      or
      (
        last_over_time(%(record)s[6h])
        and on (account, aws_region) account_aws_region:pinpoint_email_held:group
      )
    ||| % { agg: agg, by: by, series: series, record: record }),
  },

  prometheusAlerts+:: {
    groups+: [{
      name: 'pinpoint-email',
      rules: [
        // What each exporter polls: while it is up, the accounts it has now
        // (the call counter exists from its start until an account leaves its
        // configuration); while it is down or gone, what it had when it was
        // last up, for up to 6 hours after it was last seen at all. The rule
        // reads its own previous result.
        {
          record: 'job_instance_account_aws_region:pinpoint_email_polled:group',
          expr: q(|||
            group by (job, instance, shard, account, aws_region) (pinpoint_email_polls_total{%(m)s})
            or
            (
              (job_instance_account_aws_region:pinpoint_email_polled:group unless on (job, instance) (up{%(m)s} == 1))
              and on (job, instance) last_over_time(up{%(m)s}[6h])
            )
          |||),
        },
        // Accounts and regions still polled: by an exporter that Prometheus
        // scrapes (up or down), or by one that is gone while no exporter of
        // its job and shard is up. Exporters that split the accounts between
        // them carry a `shard` label (deploy/kubernetes/shards), so that one
        // shard's replacement does not release another shard's accounts.
        {
          record: 'account_aws_region:pinpoint_email_polled:group',
          expr: q(|||
            group by (account, aws_region) (
                (job_instance_account_aws_region:pinpoint_email_polled:group and on (job, instance) up{%(m)s})
              or
                (job_instance_account_aws_region:pinpoint_email_polled:group unless on (job, shard) (up{%(m)s} == 1))
            )
          |||),
        },
        // Accounts still polled of which no exporter has a fresh value: their
        // values are held.
        {
          record: 'account_aws_region:pinpoint_email_held:group',
          expr: q(|||
            account_aws_region:pinpoint_email_polled:group
            unless on (account, aws_region) (pinpoint_email_up{%(m)s} == 1)
          |||),
        },
        // Each account value ("bad" values take the worst of an HA pair).
        held('account_aws_region_status:pinpoint_email_enforcement_status:held', 'max',
             'pinpoint_email_enforcement_status{%(m)s}', 'account, aws_region, status'),
        held('account_aws_region:pinpoint_email_sending_enabled:held', 'min',
             'pinpoint_email_sending_enabled{%(m)s}'),
        // 1 while the account is in the sandbox although its target does not
        // set expect_sandbox, else 0.
        held('account_aws_region:pinpoint_email_sandbox_unexpected:held', 'max',
             '(1 - pinpoint_email_production_access_enabled{%(m)s}) * (1 - pinpoint_email_sandbox_expected{%(m)s})'),
        held('account_aws_region_status:pinpoint_email_production_access_review_status:held', 'max',
             'pinpoint_email_production_access_review_status{%(m)s}', 'account, aws_region, status'),
        held('account_aws_region:pinpoint_email_send_quota_used_ratio:held', 'max',
             'pinpoint_email_send_quota_used_ratio{%(m)s}'),
        held('account_aws_region:pinpoint_email_send_quota_max_emails:held', 'min',
             'pinpoint_email_send_quota_max_emails{%(m)s}'),
        // Fresh values only: a forecast needs data.
        {
          record: 'account_aws_region:pinpoint_email_send_quota_sent_emails:max',
          expr: q(|||
            max by (account, aws_region) (
              pinpoint_email_send_quota_sent_emails{%(m)s} and on (job, instance, account, aws_region) (pinpoint_email_up{%(m)s} == 1)
            )
          |||),
        },
        // The newest data any exporter has of the account, failing or not.
        {
          record: 'account_aws_region:pinpoint_email_last_success_timestamp_seconds:held',
          expr: q(|||
            max by (account, aws_region) (pinpoint_email_last_success_timestamp_seconds{%(m)s})
            or
            (
              last_over_time(account_aws_region:pinpoint_email_last_success_timestamp_seconds:held[6h])
              and on (account, aws_region) account_aws_region:pinpoint_email_polled:group
              unless on (account, aws_region) pinpoint_email_last_success_timestamp_seconds{%(m)s}
            )
          |||),
        },

        // The same two records for the reputation collector, which a target
        // may have without the account collector, and the other way round:
        // its values are held only while it polls the account.
        {
          record: 'job_instance_account_aws_region:pinpoint_email_reputation_polled:group',
          expr: q(|||
            group by (job, instance, shard, account, aws_region) (pinpoint_email_reputation_polls_total{%(m)s})
            or
            (
              (job_instance_account_aws_region:pinpoint_email_reputation_polled:group unless on (job, instance) (up{%(m)s} == 1))
              and on (job, instance) last_over_time(up{%(m)s}[6h])
            )
          |||),
        },
        {
          record: 'account_aws_region:pinpoint_email_reputation_polled:group',
          expr: q(|||
            group by (account, aws_region) (
                (job_instance_account_aws_region:pinpoint_email_reputation_polled:group and on (job, instance) up{%(m)s})
              or
                (job_instance_account_aws_region:pinpoint_email_reputation_polled:group unless on (job, shard) (up{%(m)s} == 1))
            )
          |||),
        },

        // The reputation rates, like the account values: from the exporters
        // whose last GetMetricData call succeeded (the worst of an HA pair),
        // else the last value recorded while the collector polls the account
        // and no exporter has a fresh answer. A fresh answer without a
        // datapoint (an account that stopped sending) has no rate.
      ] + [
        {
          local record = 'account_aws_region:pinpoint_email_reputation_%s_rate:held' % rate,
          record: record,
          expr: q(|||
            max by (account, aws_region) (
              pinpoint_email_reputation_%(rate)s_rate{%%(m)s} and on (job, instance, account, aws_region) (pinpoint_email_reputation_up{%%(m)s} == 1)
            )
            or
            (
              last_over_time(%(record)s[6h])
              and on (account, aws_region) account_aws_region:pinpoint_email_reputation_polled:group
              unless on (account, aws_region) (pinpoint_email_reputation_up{%%(m)s} == 1)
            )
          ||| % { rate: rate, record: record }),
        }
        for rate in ['bounce', 'complaint']
      ] + [
        alert(
          'PinpointEmailAccountShutdown', 'critical',
          'account_aws_region_status:pinpoint_email_enforcement_status:held{status="SHUTDOWN"} == 1',
          'Email sending of {{ $labels.account }} in {{ $labels.aws_region }} is shut down by AWS.',
          'AWS set the enforcement status of {{ $labels.account }} in {{ $labels.aws_region }} to SHUTDOWN, so the account cannot send email until AWS reinstates it.',
        ),
        alert(
          'PinpointEmailAccountProbation', 'warning',
          'account_aws_region_status:pinpoint_email_enforcement_status:held{status="PROBATION"} == 1',
          '{{ $labels.account }} in {{ $labels.aws_region }} is on probation with AWS.',
          'AWS put {{ $labels.account }} in {{ $labels.aws_region }} on PROBATION for its bounce or complaint rates; unless they improve, AWS shuts its sending down.',
        ),
        alert(
          'PinpointEmailSendingDisabled', 'critical',
          'account_aws_region:pinpoint_email_sending_enabled:held == 0',
          'Email sending is disabled for {{ $labels.account }} in {{ $labels.aws_region }}.',
          'SendingEnabled is false for {{ $labels.account }} in {{ $labels.aws_region }}; no email goes out from this account and region.',
        ),
        // No upper bound: while PinpointEmailQuotaNearlyExhausted fires,
        // Alertmanager inhibits this one (deploy/prometheus/alertmanager.yml).
        alert(
          'PinpointEmailQuotaUsageHigh', 'warning',
          'account_aws_region:pinpoint_email_send_quota_used_ratio:held > %(quotaUsageWarning)g',
          '{{ $labels.account }} in {{ $labels.aws_region }} has used {{ $value | humanizePercentage }} of its 24-hour quota.',
          '{{ $labels.account }} in {{ $labels.aws_region }} sent {{ $value | humanizePercentage }} of its 24-hour sending quota; above 100 % AWS refuses to send.',
        ),
        alert(
          'PinpointEmailQuotaNearlyExhausted', 'critical',
          'account_aws_region:pinpoint_email_send_quota_used_ratio:held > %(quotaUsageCritical)g',
          '{{ $labels.account }} in {{ $labels.aws_region }} has used {{ $value | humanizePercentage }} of its 24-hour quota.',
          '{{ $labels.account }} in {{ $labels.aws_region }} is about to run out of its 24-hour sending quota ({{ $value | humanizePercentage }} used); then AWS refuses to send.',
          { keep_firing_for: c.quotaNearlyExhaustedKeepFiringFor },
        ),
        // A forecast needs data: it resolves after an hour without a
        // successful poll (the sent count is not held). An unlimited quota is
        // +Inf, which no forecast exceeds.
        alert(
          'PinpointEmailQuotaExhaustionPredicted', 'warning',
          |||
            predict_linear(account_aws_region:pinpoint_email_send_quota_sent_emails:max[1h], %(quotaExhaustionHorizonHours)g * 3600)
            > on (account, aws_region) account_aws_region:pinpoint_email_send_quota_max_emails:held
          |||,
          '{{ $labels.account }} in {{ $labels.aws_region }} will run out of its 24-hour quota within %g hours.' % c.quotaExhaustionHorizonHours,
          'At the sending rate of the last hour, {{ $labels.account }} in {{ $labels.aws_region }} reaches its 24-hour sending quota within %g hours.' % c.quotaExhaustionHorizonHours,
        ),
        // Targets that set expect_sandbox: true in the targets file never fire
        // it.
        alert(
          'PinpointEmailInSandbox', 'warning',
          'account_aws_region:pinpoint_email_sandbox_unexpected:held == 1',
          '{{ $labels.account }} in {{ $labels.aws_region }} is in the sandbox.',
          '{{ $labels.account }} in {{ $labels.aws_region }} has no production access: it can only send to verified identities, 200 emails a day at 1 per second. If it is meant to stay there, set expect_sandbox: true for its target.',
        ),
        // SES v2 only: needs targets polled with api sesv2 or auto.
        alert(
          'PinpointEmailProductionAccessDenied', 'warning',
          'account_aws_region_status:pinpoint_email_production_access_review_status:held{status="DENIED"} == 1',
          'AWS denied the production access request of {{ $labels.account }} in {{ $labels.aws_region }}.',
          'The production access request of {{ $labels.account }} in {{ $labels.aws_region }} was DENIED, so the account stays in the sandbox (verified recipients only, 200 emails a day).',
        ),
        // The reputation alerts fire before AWS acts. While a critical one
        // fires, Alertmanager inhibits its warning
        // (deploy/prometheus/alertmanager.yml).
        alert(
          'PinpointEmailBounceRateHigh', 'warning',
          'account_aws_region:pinpoint_email_reputation_bounce_rate:held >= %(bounceRateWarning)g',
          'The bounce rate of {{ $labels.account }} in {{ $labels.aws_region }} is {{ $value | humanizePercentage }}.',
          'The bounce rate of {{ $labels.account }} in {{ $labels.aws_region }} is {{ $value | humanizePercentage }}, over the 2 % AWS recommends; at 5 % AWS puts the account under review.',
        ),
        alert(
          'PinpointEmailBounceRateCritical', 'critical',
          'account_aws_region:pinpoint_email_reputation_bounce_rate:held >= %(bounceRateCritical)g',
          'The bounce rate of {{ $labels.account }} in {{ $labels.aws_region }} is {{ $value | humanizePercentage }}: AWS reviews accounts from 5 %.',
          'The bounce rate of {{ $labels.account }} in {{ $labels.aws_region }} is {{ $value | humanizePercentage }}; from 5 % AWS puts the account under review (PROBATION), from 10 % it may pause its sending.',
        ),
        alert(
          'PinpointEmailComplaintRateHigh', 'warning',
          'account_aws_region:pinpoint_email_reputation_complaint_rate:held >= %(complaintRateWarning)g',
          'The complaint rate of {{ $labels.account }} in {{ $labels.aws_region }} is {{ $value | humanizePercentage }}.',
          'The complaint rate of {{ $labels.account }} in {{ $labels.aws_region }} is {{ $value | humanizePercentage }}, over the 0.05 % AWS recommends; at 0.1 % AWS puts the account under review.',
        ),
        alert(
          'PinpointEmailComplaintRateCritical', 'critical',
          'account_aws_region:pinpoint_email_reputation_complaint_rate:held >= %(complaintRateCritical)g',
          'The complaint rate of {{ $labels.account }} in {{ $labels.aws_region }} is {{ $value | humanizePercentage }}: AWS reviews accounts from 0.1 %.',
          'The complaint rate of {{ $labels.account }} in {{ $labels.aws_region }} is {{ $value | humanizePercentage }}; from 0.1 % AWS puts the account under review (PROBATION), from 0.5 % it may pause its sending.',
        ),
        // An account that sent mail in the last 24 hours whose newest
        // bounce-rate datapoint is too old, or that has none: the reputation
        // alerts are blind for it. Whether it sent mail comes from the account
        // collector: a target without it never fires this alert.
        alert(
          'PinpointEmailReputationDataStale', 'warning',
          |||
            (
                time() - max by (account, aws_region) (pinpoint_email_reputation_bounce_rate_timestamp_seconds{%(m)s}) > %(reputationDataStaleAfterSeconds)d
              or
                max by (account, aws_region) (pinpoint_email_reputation_up{%(m)s} == 1)
                unless on (account, aws_region) pinpoint_email_reputation_bounce_rate_timestamp_seconds{%(m)s}
            )
            and on (account, aws_region)
            account_aws_region:pinpoint_email_send_quota_sent_emails:max > 0
          |||,
          'CloudWatch has no recent bounce rate of {{ $labels.account }} in {{ $labels.aws_region }}, which is sending.',
          "{{ $labels.account }} in {{ $labels.aws_region }} sent email in the last 24 hours, but CloudWatch's newest Reputation.BounceRate datapoint for it is over %s old, or there is none; the bounce and complaint rate alerts cannot warn of a review." % seconds(c.reputationDataStaleAfterSeconds),
        ),
        alert(
          'PinpointEmailReputationPollsFailing', 'warning',
          'pinpoint_email_reputation_up{%(m)s} == 0',
          'CloudWatch calls for the reputation of {{ $labels.account }} in {{ $labels.aws_region }} have been failing for %s at {{ $labels.instance }}.' % duration(c.alertFor, 'PinpointEmailReputationPollsFailing'),
          'The exporter at {{ $labels.instance }} cannot read the bounce and complaint rates of {{ $labels.account }} in {{ $labels.aws_region }}; pinpoint_email_reputation_poll_errors_total and the log tell why (often a missing cloudwatch:GetMetricData permission).',
        ),
        // A dedicated IP warming up whose percentage has not moved (and was
        // already known that long ago). The dedicated-IPs collector.
        alert(
          'PinpointEmailDedicatedIpWarmupStuck', 'warning',
          |||
            max by (account, aws_region, ip, pool) (pinpoint_email_dedicated_ip_warmup_status{%(m)s, status="IN_PROGRESS"}) == 1
            and on (account, aws_region, ip, pool)
              max by (account, aws_region, ip, pool) (max_over_time(pinpoint_email_dedicated_ip_warmup_percentage{%(m)s}[%(warmupStuckAfter)s]))
              == max by (account, aws_region, ip, pool) (min_over_time(pinpoint_email_dedicated_ip_warmup_percentage{%(m)s}[%(warmupStuckAfter)s]))
            and on (account, aws_region, ip, pool)
              max by (account, aws_region, ip, pool) (pinpoint_email_dedicated_ip_warmup_percentage{%(m)s} offset %(warmupStuckAfter)s)
          |||,
          'The warm-up of dedicated IP {{ $labels.ip }} of {{ $labels.account }} in {{ $labels.aws_region }} has not moved for %s.' % words(c.warmupStuckAfter),
          'Dedicated IP {{ $labels.ip }} (pool {{ $labels.pool }}) of {{ $labels.account }} in {{ $labels.aws_region }} is still IN_PROGRESS and its warm-up percentage has not changed in %s; mail sent from it may be throttled by receivers meanwhile.' % words(c.warmupStuckAfter),
        ),
        alert(
          'PinpointEmailExporterDown', 'warning',
          'up{%(m)s} == 0',
          'Prometheus cannot scrape pinpoint-email-exporter at {{ $labels.instance }}.',
          'The scrape of {{ $labels.instance }} failed for %s; the account alerts hold the last known state of its accounts meanwhile.' % duration(c.alertFor, 'PinpointEmailExporterDown'),
        ),
        alert(
          'PinpointEmailExporterAbsent', 'warning',
          'absent(up{%(m)s})',
          'No pinpoint-email-exporter is scraped.',
          'Prometheus has no scrape target matching {%s}; account status, quota and enforcement alerts are blind.' % c.pinpointEmailMatchers,
        ),
        // Per exporter: in an HA pair, the replica that cannot poll is named.
        // A target that never succeeded has no timestamp for DataStale, and
        // this fires for it.
        alert(
          'PinpointEmailPollsFailing', 'warning',
          'pinpoint_email_up{%(m)s} == 0',
          'GetAccount calls for {{ $labels.account }} in {{ $labels.aws_region }} have been failing for %s at {{ $labels.instance }}.' % duration(c.alertFor, 'PinpointEmailPollsFailing'),
          "The exporter at {{ $labels.instance }} cannot get the account of {{ $labels.account }} in {{ $labels.aws_region }}; pinpoint_email_poll_errors_total and the exporter's log tell why (credentials, permissions, throttling, network).",
        ),
        // The age of what the account alerts act on: the newest successful
        // poll of any exporter, held through an exporter outage like the
        // values.
        alert(
          'PinpointEmailDataStale', 'warning',
          'time() - account_aws_region:pinpoint_email_last_success_timestamp_seconds:held > %(dataStaleAfterSeconds)d',
          'The account data of {{ $labels.account }} in {{ $labels.aws_region }} is {{ $value | humanizeDuration }} old.',
          'The last successful GetAccount call for {{ $labels.account }} in {{ $labels.aws_region }} was {{ $value | humanizeDuration }} ago; the status and quota alerts act on that data.',
        ),
        // The share of throttled calls, over every exporter polling the
        // account: a throttled call now and then is normal, most calls
        // throttled is not. At least two throttled calls, so that one call of
        // few (a long --poll.interval) is not a quarter.
        alert(
          'PinpointEmailThrottled', 'warning',
          |||
            sum by (account, aws_region) (rate(pinpoint_email_poll_errors_total{%(m)s, reason="throttled"}[%(throttledWindow)s]))
            / sum by (account, aws_region) (rate(pinpoint_email_polls_total{%(m)s}[%(throttledWindow)s]))
            > %(throttledRatio)g
            and on (account, aws_region)
            sum by (account, aws_region) (increase(pinpoint_email_poll_errors_total{%(m)s, reason="throttled"}[%(throttledWindow)s])) > %(throttledMinCallsBound)g
          |||,
          'AWS throttles {{ $value | humanizePercentage }} of the GetAccount calls for {{ $labels.account }} in {{ $labels.aws_region }}.',
          "Over the last %s AWS answered TooManyRequestsException to {{ $value | humanizePercentage }} of the exporter's calls for {{ $labels.account }} in {{ $labels.aws_region }}; another client may share the account's API rate, or --poll.interval is too short." % words(c.throttledWindow),
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
