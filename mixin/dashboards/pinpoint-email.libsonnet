// The dashboard, with a `datasource` variable for the Prometheus (so that it
// works imported by hand and provisioned from files alike), every query's
// selector and the quota, bounce and complaint warnings taken from the config:
// %(m)s in an expr or query is the selector's matchers (dashboards.libsonnet).
local lib = import 'lib.libsonnet';

function(c)
  // A series of the selected accounts and regions; `extra` adds matchers.
  local sel(metric, extra='') = metric + '{%(m)s, account=~"$account", aws_region=~"$aws_region"' + extra + '}';
  local regionSel(metric) = metric + '{%(m)s, aws_region=~"$aws_region"}';
  // `agg` of a series per account-region.
  local byAR(agg, metric, extra='') = agg + ' by (account, aws_region) (' + sel(metric, extra) + ')';
  local held = 'account_aws_region:pinpoint_email_account_condition:held';
  local perAccount = '{{account}} {{aws_region}}';
  // Each email identity with its statuses, the failing first: `Failing`
  // counts its FAILED or TEMPORARY_FAILURE statuses and a disabled sending.
  local identity = 'account, aws_region, identity, identity_type';
  local current(metric, as) = 'max by (%s, %s) (label_replace(%s == 1, "%s", "$1", "status", "(.*)"))' % [identity, as, sel(metric), as];
  local identityTable(id) = lib.table(
    id,
    'Identities',
    'Each email identity (domain or address) of each account-region with its verification (SES v2), DKIM and MAIL FROM status, worst first: Failing counts its FAILED or TEMPORARY_FAILURE statuses, and 1 more when sending from it is disabled.',
    [
      // Each status once, whichever exporters (an HA pair) report it.
      lib.target('sort_desc(sum by (%s) (max by (%s, __name__, status) (%s)) + min by (%s) (1 - %s))'
                 % [identity, identity, '{__name__=~"pinpoint_email_identity_(verification|dkim|mail_from)_status", %(m)s, account=~"$account", aws_region=~"$aws_region", status=~"FAILED|TEMPORARY_FAILURE"}', identity, sel('pinpoint_email_identity_sending_enabled')], format='table', instant=true),
      lib.target(current('pinpoint_email_identity_verification_status', 'verification'), format='table', instant=true, refId='B'),
      lib.target(current('pinpoint_email_identity_dkim_status', 'dkim'), format='table', instant=true, refId='C'),
      lib.target(current('pinpoint_email_identity_mail_from_status', 'mail_from'), format='table', instant=true, refId='D'),
    ],
    defaults={ thresholds: lib.thresholds('green', [['red', 1]]) },
    overrides=[lib.override('byName', 'Failing', [['custom.cellOptions', { type: 'color-background' }]])],
    options={ sortBy: [{ displayName: 'Failing', desc: true }] },
  ) + { transformations: [
    { id: 'merge', options: {} },
    { id: 'organize', options: {
      excludeByName: { Time: true, 'Value #B': true, 'Value #C': true, 'Value #D': true },
      renameByName: { 'Value #A': 'Failing' },
    } },
  ] };
  local pct(ratio) = '%g' % (ratio * 100);
  // AWS's own review and sending-paused rates, drawn past the config's
  // warning (which the alerts share).
  local aws = { bounceReview: 0.05, bouncePaused: 0.1, complaintReview: 0.001, complaintPaused: 0.005 };

  // How many account-regions have `metric` (its `agg` over exporters) at 0.
  local zeroCount(id, title, description, agg, metric, color) =
    lib.stat(id,
             title,
             description,
             lib.target('count(%s == 0) or vector(0)' % byAR(agg, metric), instant=true),
             lib.colorByThresholds('green', [[color, 1]], mappings=[]));

  // A rate of the reputation collector against the config's warning and AWS's
  // review and sending-paused rates.
  local reputationRate(id, title, description, metric, warning, review, paused) =
    local steps = [['orange', warning], ['red', review], ['dark-red', paused]];
    lib.timeseries(id,
                   title,
                   description,
                   lib.target(byAR('max', metric), perAccount),
                   'percentunit',
                   defaults=lib.thresholdLines('green', steps));

  local quotaSteps = [['orange', c.quotaUsageWarning], ['red', c.quotaUsageCritical]];
  local onOff(id, title, description, by, metric, legend, off) =
    lib.stat(id,
             title,
             description,
             lib.target('max by (%s) (%s)' % [by, sel(metric)], legend, instant=true),
             lib.colorByThresholds(off, [['green', 1]], lib.valueMappings([[1, 'On', 'green'], [0, 'Off', off]])),
             textMode='value_and_name');

  // The enforcement-status changes of the held records: began (now above 0,
  // not 2 minutes ago) and ended (now 0, above 0 2 minutes ago).
  local change = std.rstripChars(|||
    label_replace(
      max by (account, aws_region, condition) (%(h)s > 0)
      unless max by (account, aws_region, condition) (%(h)s offset 2m > 0),
      "change", "began", "", ""
    )
    or
    label_replace(
      max by (account, aws_region, condition) (%(h)s == 0) + 1
      and max by (account, aws_region, condition) (%(h)s offset 2m > 0),
      "change", "ended", "", ""
    )
  |||, '\n') % { h: sel(held, ', condition=~"shutdown|probation|unexpected_status"') };

  local enforcement = std.rstripChars(|||
    max by (account, aws_region) (
      %s
      or 2 * %s
      or 3 * %s
    )
  |||, '\n') % [sel(held, ', condition="%s"' % s) for s in ['probation', 'shutdown', 'unexpected_status']];

  // The production access review: 1 to 4 for these statuses, 0 for another.
  local statuses = ['PENDING', 'FAILED', 'GRANTED', 'DENIED'];
  local review = std.join('\n+ ', [
    (if i == 0 then '' else '%d * ' % (i + 1))
    + byAR('max', 'pinpoint_email_production_access_review_status', ', status="%s"' % statuses[i])
    for i in std.range(0, std.length(statuses) - 1)
  ]);

  {
    __requires: [
      { type: r[0], id: r[1], name: r[2], version: r[3] }
      for r in [['grafana', 'grafana', 'Grafana', '10.0.0'], ['datasource', 'prometheus', 'Prometheus', '1.0.0']]
    ] + [
      { type: 'panel', id: p[0], name: p[1], version: '' }
      for p in [['state-timeline', 'State timeline'], ['stat', 'Stat'], ['bargauge', 'Bar gauge'], ['timeseries', 'Time series']]
    ],
    annotations: { list: [
      {
        builtIn: 1,
        datasource: { type: 'grafana', uid: '-- Grafana --' },
        enable: true,
        hide: true,
        iconColor: 'rgba(0, 211, 255, 1)',
        name: 'Annotations & Alerts',
        type: 'dashboard',
      },
      {
        datasource: lib.datasource,
        enable: true,
        iconColor: 'red',
        name: 'Enforcement status changes',
        target: {
          refId: 'Anno',
          expr: change,
          step: '60s',
          titleFormat: '{{condition}} {{change}}',
          textFormat: '{{account}} in {{aws_region}}: {{condition}} {{change}} (as the alert rules hold it)',
          tagKeys: 'account,aws_region,condition,change',
          useValueForTime: false,
        },
      },
    ] },
    description: 'Sending status, quota and enforcement status of Amazon Pinpoint Email / SES accounts, from pinpoint-email-exporter.',
    editable: true,
    graphTooltip: 1,
    links: [],
    liveNow: false,

    panels: lib.layout([
      lib.row(1, 'Account status'),
      lib.line(7, [16, 8], [
        lib.stateTimeline(
          2,
          'Enforcement status',
          'The enforcement status the alert rules hold, over time, of each account-region that had one other than HEALTHY within holdFor: PROBATION, SHUTDOWN, or OTHER for a status AWS added; HEALTHY once a successful poll showed it gone. Healthy account-regions have no row, so the timeline stays short and cheap at thousands of them; it reads what the alerts read, and so holds through failing polls and outages as they do.',
          lib.target(enforcement, perAccount),
          lib.valueMappings([[0, 'HEALTHY', 'green'], [1, 'PROBATION', 'orange'], [2, 'SHUTDOWN', 'red'], [3, 'OTHER', 'purple'], [4, 'UNKNOWN', 'text']]),
          lib.thresholds('green', [['orange', 1], ['red', 2], ['purple', 3]]),
        ),
        lib.table(
          27,
          'Held by the alert rules',
          "Every condition the alert rules hold now, worst first: what the alerts act on (the records of mixin/alerts), with its value (1, or the ratio of a rate or quota), and the identity of an identity's. Empty when every account-region and identity is healthy.",
          lib.target('sort_desc(max by (account, aws_region, identity, condition) (%s > 0 or %s > 0 or %s > 0))'
                     % [sel(held), sel('account_aws_region:pinpoint_email_reputation_condition:held'), sel('account_aws_region_identity:pinpoint_email_identity_condition:held')], format='table', instant=true),
        ),
      ]),
      lib.line(5, 6, [
        zeroCount(3,
                  'Sending disabled',
                  'Account-regions whose SendingEnabled is false: no email goes out from them.',
                  'min',
                  'pinpoint_email_sending_enabled',
                  'red'),
        zeroCount(4,
                  'In the sandbox',
                  'Account-regions without production access (ProductionAccessEnabled false): they can only send to verified identities, 200 emails a day.',
                  'min',
                  'pinpoint_email_production_access_enabled',
                  'orange'),
        zeroCount(5,
                  'Auto warm-up off',
                  'Account-regions whose dedicated IPs are not warmed up automatically (DedicatedIpAutoWarmupEnabled false).',
                  'max',
                  'pinpoint_email_dedicated_ip_auto_warmup_enabled',
                  'orange'),
        zeroCount(6,
                  'Polls failing',
                  'Account-regions whose last GetAccount call failed at every exporter polling them.',
                  'max',
                  'pinpoint_email_up',
                  'red'),
      ]),

      lib.row(23, 'Reputation and dedicated IPs (reputation and dedicated-IPs collectors)'),
      lib.line(7, 8, [
        reputationRate(
          24,
          'Bounce rate',
          "The bounce rate CloudWatch holds for each account (AWS/SES Reputation.BounceRate), against AWS's thresholds: %s %% recommended (orange), %s %% review (red), %s %% sending paused (dark red)."
          % [pct(c.bounceRateWarning), pct(aws.bounceReview), pct(aws.bouncePaused)],
          'pinpoint_email_reputation_bounce_ratio',
          c.bounceRateWarning,
          aws.bounceReview,
          aws.bouncePaused,
        ),
        reputationRate(
          25,
          'Complaint rate',
          "The complaint rate CloudWatch holds for each account (AWS/SES Reputation.ComplaintRate), against AWS's thresholds: %s %% recommended (orange), %s %% review (red), %s %% sending paused (dark red)."
          % [pct(c.complaintRateWarning), pct(aws.complaintReview), pct(aws.complaintPaused)],
          'pinpoint_email_reputation_complaint_ratio',
          c.complaintRateWarning,
          aws.complaintReview,
          aws.complaintPaused,
        ),
        lib.timeseries(
          28,
          'Volume behind the rates',
          'What each account sent in the last 24 hours (AWS/SES Send), and how many of those bounced, drew a complaint or were rejected (Bounce, Complaint, Reject): a rate of 10 % of 20 messages is not one of 10 % of 200,000.',
          [
            lib.target(byAR('max', 'pinpoint_email_reputation_%s' % m[0]), perAccount + ' ' + m[1], refId=m[2])
            for m in [['sent_emails', 'sent', 'A'], ['bounced_emails', 'bounced', 'B'], ['complained_emails', 'complaints', 'C'], ['rejected_emails', 'rejected', 'D']]
          ],
          'short',
        ),
      ]),
      lib.line(7, 24, [
        lib.table(
          26,
          'Dedicated IP warm-up',
          'Each dedicated IP address with its pool and warm-up progress (WarmupPercentage); managed pools, which AWS warms up itself, have none.',
          lib.target('max by (account, aws_region, pool, ip) (%s)' % sel('pinpoint_email_dedicated_ip_warmup_ratio'), format='table', instant=true),
          defaults={ unit: 'percentunit', min: 0, max: 1, thresholds: lib.thresholds('orange', [['green', 1]]) },
          overrides=[lib.override('byName', 'Value', [
            ['displayName', 'Warm-up'],
            ['custom.cellOptions', { type: 'gauge', mode: 'basic' }],
          ])],
          options={ sortBy: [{ displayName: 'Warm-up', desc: false }] },
        ),
      ]),

      lib.row(29, 'Email identities (identities collector)'),
      lib.line(8, 24, [
        identityTable(30),
      ]),

      lib.row(7, 'Quota'),
      lib.line(8, [8, 16], [
        lib.bargauge(
          8,
          'Quota used',
          'Emails sent in the last 24 hours divided by the 24-hour quota. Absent for unlimited quotas.',
          lib.target(byAR('max', 'pinpoint_email_send_quota_used_ratio'), perAccount, instant=true),
          { unit: 'percentunit', min: 0, max: 1 } + lib.colorByThresholds('green', quotaSteps),
        ),
        lib.timeseries(
          9,
          'Sent in 24 hours vs quota',
          'SentLast24Hours against Max24HourSend (unlimited quotas, -1, are not drawn).',
          [
            lib.target(byAR('max', 'pinpoint_email_send_quota_sent_emails'), 'sent ' + perAccount),
            lib.target(byAR('min', 'pinpoint_email_send_quota_max_emails') + ' < +Inf', 'quota ' + perAccount, refId='B'),
          ],
          'short',
          fill=10,
          overrides=[lib.override('byRegexp', 'quota.*', [
            ['custom.lineStyle', { fill: 'dash', dash: [10, 10] }],
            ['custom.fillOpacity', 0],
          ])],
        ),
      ]),
      lib.line(7, 12, [
        lib.timeseries(
          10,
          'Maximum send rate',
          'MaxSendRate: the most emails per second the account may send.',
          lib.target(byAR('min', 'pinpoint_email_send_quota_max_emails_per_second'), perAccount),
          'short',
        ),
        lib.timeseries(
          11,
          'Quota used over time',
          'The share of the 24-hour quota used, over time; thresholds at %g %% and %g %% as in the alerts.'
          % [c.quotaUsageWarning * 100, c.quotaUsageCritical * 100],
          lib.target(byAR('max', 'pinpoint_email_send_quota_used_ratio'), perAccount),
          'percentunit',
          defaults={ max: 1 } + lib.thresholdLines('green', quotaSteps, 'line+area'),
        ),
      ]),

      lib.row(12, 'Exporter health'),
      lib.line(7, 8, [
        lib.timeseries(
          13,
          'Data age',
          'Time since the last successful GetAccount call. It grows while polls fail; the account values disappear after --poll.stale-after.',
          lib.target('time() - ' + byAR('max', 'pinpoint_email_last_success_timestamp_seconds'), perAccount),
          's',
        ),
        lib.timeseries(
          14,
          'Poll errors by reason',
          'Failed GetAccount calls a minute, over the last 5 minutes, by reason: throttled, timeout, network, auth, bad_request, server, invalid_response, other; of every account of the selected regions (from the recording rule aws_region_reason:pinpoint_email_poll_errors:rate5m, which a 7-day view at thousands of account-regions can afford).',
          lib.target('60 * sum by (reason) (%s)' % regionSel('aws_region_reason:pinpoint_email_poll_errors:rate5m'), '{{reason}}'),
          'short',
          fill=20,
          defaults={ decimals: 1, custom+: { drawStyle: 'bars', stacking: { mode: 'normal', group: 'A' } } },
        ),
        lib.timeseries(
          15,
          'Throttled calls',
          'GetAccount calls AWS answered with TooManyRequestsException; the exporter backs off after each.',
          lib.target('sum by (account, aws_region) (increase(%s[$__rate_interval]))'
                     % sel('pinpoint_email_poll_errors_total', ', reason="throttled"'), perAccount),
          'short',
          fill=20,
          defaults={ custom+: { drawStyle: 'bars' } },
        ),
      ]),
      lib.line(7, 12, [
        lib.timeseries(
          16,
          'GetAccount duration (p90)',
          "90th percentile of the duration of the exporter's GetAccount calls, per region over its accounts (per account too when the exporter runs with --metrics.poll-duration-per-target).",
          lib.target('histogram_quantile(0.9, sum by (le, aws_region) (rate(%s[$__rate_interval])))'
                     % regionSel('pinpoint_email_poll_duration_seconds_bucket'), '{{aws_region}}'),
          's',
        ),
        lib.stat(
          17,
          'Exporter version',
          'Versions of the exporter instances scraped, and how many run each.',
          lib.target('count by (version, revision) (pinpoint_email_exporter_build_info{%(m)s})', '{{version}} ({{revision}})', instant=true),
          { unit: 'none' } + lib.fixedText,
          textMode='value_and_name',
          colorMode='none',
        ),
      ]),

      lib.row(18, 'SES v2 (targets polled with api sesv2 or auto)'),
      lib.line(6, [12, 4, 4, 4], [
        lib.stateTimeline(
          19,
          'Production access request',
          'Status of the production access request (SES v2 Details.ReviewDetails.Status): PENDING, FAILED, GRANTED, DENIED, or OTHER for a status AWS adds later.',
          lib.target(review, perAccount),
          lib.valueMappings([[0, 'OTHER', 'purple'], [1, 'PENDING', 'blue'], [2, 'FAILED', 'orange'], [3, 'GRANTED', 'green'], [4, 'DENIED', 'red']]),
          lib.thresholds('purple', [['blue', 1], ['orange', 2], ['green', 3], ['red', 4]]),
        ),
        lib.stat(
          20,
          'API in use',
          'The API that answered the last successful poll: pinpoint-email or sesv2 (auto targets switch once Pinpoint Email is gone).',
          lib.target('max by (account, aws_region, api) (%s)' % sel('pinpoint_email_api_info'), perAccount + ': {{api}}', instant=true),
          lib.fixedText,
          textMode='name',
          colorMode='none',
        ),
        onOff(21,
              'Virtual Deliverability Manager',
              'VdmAttributes.VdmEnabled (SES v2).',
              'account, aws_region',
              'pinpoint_email_vdm_enabled',
              perAccount,
              'text'),
        onOff(22,
              'Suppression list reasons',
              'Reasons for which the account-level suppression list adds addresses (SES v2 SuppressionAttributes.SuppressedReasons).',
              'account, aws_region, reason',
              'pinpoint_email_suppression_reason_enabled',
              perAccount + ' {{reason}}',
              'orange'),
      ]),
    ]),

    refresh: '1m',
    schemaVersion: 39,
    tags: c.dashboardTags,
    templating: { list: [lib.datasourceVariable] + [
      // Each install label, among the values the ones before it leave.
      lib.queryVariable(label, label, 'label_values(up{%(base)s'
                                      + std.join('', [', %s=~"$%s"' % [l, l] for l in c.groupLabels[:std.find(label, c.groupLabels)[0]]])
                                      + '}, ' + label + ')')
      for label in c.groupLabels
    ] + [
      lib.queryVariable('account', 'Account', 'label_values(pinpoint_email_up{%(m)s}, account)'),
      lib.queryVariable('aws_region', 'Region', 'label_values(pinpoint_email_up{%(m)s, account=~"$account"}, aws_region)'),
    ] },
    time: { from: 'now-24h', to: 'now' },
    timepicker: {},
    timezone: '',
    title: c.dashboardTitle,
    uid: c.dashboardUID,
    version: 1,
    weekStart: '',
  }
