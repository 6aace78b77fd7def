// The mixin's settings. Override any of them:
//
//   (import 'github.com/pinpoint-email-exporter/pinpoint-email-exporter/mixin/mixin.libsonnet') + {
//     _config+:: { pinpointEmailSelector: 'job="email"', bounceRateWarning: 0.03 },
//   }
{
  _config+:: {
    // Selects the exporter's series and the `up` of its scrape jobs in every
    // rule and dashboard query, as node_exporter's nodeExporterSelector.
    pinpointEmailSelector: 'job="pinpoint-email-exporter"',
    // Further label matchers joined to the selector, for example
    // 'cluster="prod", team="mail"'; empty for none.
    extraLabelMatchers: '',
    // What goes between the braces of every selector: the two above.
    pinpointEmailMatchers: std.join(', ', [m for m in [self.pinpointEmailSelector, self.extraLabelMatchers] if m != '']),

    // Share of the 24-hour sending quota used: PinpointEmailQuotaUsageHigh
    // (warning) and PinpointEmailQuotaNearlyExhausted (critical).
    quotaUsageWarning: 0.8,
    quotaUsageCritical: 0.95,
    // PinpointEmailQuotaExhaustionPredicted: the quota is forecast to run out
    // within this many hours, at the sending rate of the last hour.
    quotaExhaustionHorizonHours: 4,

    // Reputation rates (the reputation collector). AWS reviews an account at a
    // bounce rate of 5 % and a complaint rate of 0.1 %, and recommends staying
    // under 2 % and 0.05 %.
    bounceRateWarning: 0.02,
    bounceRateCritical: 0.05,
    complaintRateWarning: 0.0005,
    complaintRateCritical: 0.001,

    // PinpointEmailDataStale: seconds since the newest successful GetAccount
    // call of any exporter.
    dataStaleAfterSeconds: 1800,
    // PinpointEmailReputationDataStale: age of the newest bounce-rate datapoint
    // of an account that is sending.
    reputationDataStaleAfterSeconds: 6 * 3600,
    // PinpointEmailThrottled: share of calls throttled over the window, and
    // the fewest throttled calls in it (one call of few is not a share).
    throttledRatio: 0.25,
    throttledWindow: '30m',
    throttledMinCalls: 2,
    // PinpointEmailDedicatedIpWarmupStuck: a warm-up percentage that has not
    // moved for this long.
    warmupStuckAfter: '3d',

    // How long each alert's condition must hold before it fires. An alert
    // missing here fires at the first evaluation that matches.
    alertFor: {
      PinpointEmailSendingDisabled: '5m',
      PinpointEmailQuotaUsageHigh: '5m',
      PinpointEmailQuotaNearlyExhausted: '2m',
      PinpointEmailQuotaExhaustionPredicted: '15m',
      PinpointEmailInSandbox: '15m',
      PinpointEmailBounceRateHigh: '15m',
      PinpointEmailBounceRateCritical: '5m',
      PinpointEmailComplaintRateHigh: '15m',
      PinpointEmailComplaintRateCritical: '5m',
      PinpointEmailReputationDataStale: '30m',
      PinpointEmailReputationPollsFailing: '30m',
      PinpointEmailDedicatedIpWarmupStuck: '1h',
      PinpointEmailExporterDown: '5m',
      PinpointEmailExporterAbsent: '15m',
      PinpointEmailPollsFailing: '15m',
      PinpointEmailDataStale: '5m',
      PinpointEmailThrottled: '15m',
    },
    // PinpointEmailQuotaNearlyExhausted keeps firing this long after usage
    // dips under the threshold, so that usage moving around it keeps one alert.
    quotaNearlyExhaustedKeepFiringFor: '15m',

    // Each alert's runbook_url: %s is the alert name in lower case, the anchor
    // of its section in docs/runbooks.md. Point it at where you host the docs.
    runbookURLPattern: 'https://github.com/pinpoint-email-exporter/pinpoint-email-exporter/blob/main/docs/runbooks.md#%s',

    // The dashboard.
    dashboardTitle: 'Pinpoint Email / SES accounts',
    dashboardUID: 'pinpoint-email-exporter',
    dashboardTags: ['aws', 'email', 'ses', 'pinpoint'],
  },
}
