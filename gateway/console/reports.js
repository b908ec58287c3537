// Console page: reports (funnel, campaigns, channels, hand-offs) with a
// period picker, a source filter, a daily line chart per report drawn as
// SVG with DOM calls, and a CSV download per table.
'use strict';
(() => {
  const { h, t, api, guard, mount, put, download } = JG;
  const SVG = 'http://www.w3.org/2000/svg';

  // s builds an SVG element; like h, values are attributes, never markup.
  function s(tag, attrs, ...kids) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
    for (const kid of kids.flat()) if (kid) el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    return el;
  }

  // daysOf lists every date from from to to (YYYY-MM-DD, inclusive): the
  // chart has a point per day whether or not the day had counts.
  function daysOf(from, to) {
    const out = [];
    const d = new Date(from + 'T00:00:00Z');
    const end = new Date(to + 'T00:00:00Z');
    while (d <= end && out.length < 400) {
      out.push(d.toISOString().slice(0, 10));
      d.setUTCDate(d.getUTCDate() + 1);
    }
    return out;
  }

  // sumBy adds up one field of the day rows per date.
  function sumBy(days, field) {
    const m = {};
    for (const d of days || []) m[d.date] = (m[d.date] || 0) + (Number(typeof field === 'function' ? field(d) : d[field]) || 0);
    return m;
  }

  // lineChart draws one line per series over dates, a circle per point
  // (data-date, data-value, a title for the hover), the largest value on
  // the axis and the first and last dates under it.
  function lineChart(id, dates, series) {
    const W = 640, H = 180, L = 40, R = 10, T = 10, B = 24;
    const max = Math.max(1, ...series.flatMap((x) => dates.map((d) => x.values[d] || 0)));
    const x = (i) => L + (dates.length < 2 ? (W - L - R) / 2 : (i * (W - L - R)) / (dates.length - 1));
    const y = (v) => T + (H - T - B) * (1 - v / max);
    const svg = s('svg', { id, class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'data-days': dates.length },
      s('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }),
      s('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }),
      s('text', { class: 'tick', x: L - 4, y: T + 8, 'text-anchor': 'end' }, String(max)),
      s('text', { class: 'tick', x: L - 4, y: H - B, 'text-anchor': 'end' }, '0'),
      dates.length ? s('text', { class: 'tick', x: L, y: H - 6 }, dates[0]) : null,
      dates.length > 1 ? s('text', { class: 'tick', x: W - R, y: H - 6, 'text-anchor': 'end' }, dates[dates.length - 1]) : null);
    series.forEach((ser, n) => {
      const g = s('g', { class: 'series s' + (n % 6), 'data-series': ser.name });
      g.append(s('polyline', { points: dates.map((d, i) => x(i).toFixed(1) + ',' + y(ser.values[d] || 0).toFixed(1)).join(' ') }));
      dates.forEach((d, i) => {
        const v = ser.values[d] || 0;
        g.append(s('circle', { cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 3, 'data-date': d, 'data-value': v }, s('title', {}, d + ' ' + ser.name + ': ' + v)));
      });
      svg.append(g);
    });
    const legend = h('div', { class: 'legend' }, series.map((ser, n) => h('span', { class: 'key s' + (n % 6), text: ser.name })));
    return h('div', { class: 'chartbox' }, svg, legend);
  }

  const pct = (r) => (r === null || r === undefined ? '–' : (r * 100).toFixed(1) + ' %');
  const num = (v, digits) => (v === null || v === undefined ? '–' : Number(v).toFixed(digits === undefined ? 0 : digits));
  const money = (v, cur) => (v === null || v === undefined ? '–' : Number(v).toFixed(2) + (cur ? ' ' + cur : ''));
  // dur shows seconds as the largest unit that reads well.
  function dur(sec) {
    if (sec === null || sec === undefined) return '–';
    if (sec < 90) return sec + ' s';
    if (sec < 5400) return Math.round(sec / 60) + ' ' + t('minutes');
    if (sec < 172800) return (sec / 3600).toFixed(1) + ' ' + t('hours');
    return (sec / 86400).toFixed(1) + ' ' + t('days');
  }
  const cells = (tr, vals) => vals.forEach((v) => tr.append(h('td', { text: v })));

  async function reportsPage(args, alive) {
    const from = h('input', { id: 'r-from', type: 'date' });
    const to = h('input', { id: 'r-to', type: 'date' });
    const source = h('select', { id: 'r-source' }, h('option', { value: '', text: t('allSources') }));
    const out = h('div', { id: 'reports' });
    const query = (extra) => {
      const p = new URLSearchParams();
      if (from.value) p.set('from', from.value);
      if (to.value) p.set('to', to.value);
      for (const [k, v] of Object.entries(extra || {})) if (v) p.set(k, v);
      return '?' + p.toString();
    };
    const csv = (name, extra) => h('button', { type: 'button', class: 'link', 'data-csv': name, text: t('downloadCSV'),
      onclick: guard(() => download('/reports/' + name + query(Object.assign({ format: 'csv' }, extra)), name + '.csv')) });
    const section = (id, title, csvLink, ...kids) => h('section', { id }, h('h2', {}, title + ' ', csvLink), ...kids);

    const load = async () => {
      const src = source.value;
      const [funnel, camps, chans, hands] = await Promise.all([
        api('GET', '/reports/funnel' + query({ interval: 'day', source: src })),
        api('GET', '/reports/campaigns' + query({ interval: 'day' })),
        api('GET', '/reports/channels' + query({ interval: 'day' })),
        api('GET', '/reports/handoffs' + query({ interval: 'day' })),
      ]);
      if (!alive()) return;
      from.value = funnel.from;
      to.value = funnel.to;
      put(source, h('option', { value: '', text: t('allSources') }),
        [...new Set([...(funnel.sources || []), src].filter(Boolean))].map((x) => h('option', { value: x, text: x })));
      source.value = src;
      const dates = daysOf(funnel.from, funnel.to);

      // Funnel: a bar per stage, its width the stage's share of the first.
      const stages = funnel.stages || [];
      const top = Math.max(1, ...stages.map((x) => x.entered));
      const bars = s('svg', { id: 'funnel-bars', class: 'bars', viewBox: `0 0 640 ${stages.length * 30 + 4}`, role: 'img' },
        stages.map((x, i) => s('g', { 'data-stage': x.stage },
          s('rect', { x: 110, y: i * 30 + 4, height: 22, width: Math.max(1, (500 * x.entered) / top).toFixed(1) }),
          s('text', { class: 'label', x: 104, y: i * 30 + 20, 'text-anchor': 'end' }, t('st_' + x.stage)),
          s('text', { class: 'value', x: 116 + (500 * x.entered) / top, y: i * 30 + 20 }, String(x.entered)))));
      const funnelRows = stages.map((x) => {
        const tr = h('tr', { 'data-stage': x.stage }, h('td', { text: t('st_' + x.stage) }));
        cells(tr, [String(x.entered), pct(x.conversion_to_next), String(x.left), dur(x.median_seconds)]);
        return tr;
      });

      const campRows = (camps.campaigns || []).map((c) => {
        const tr = h('tr', { 'data-campaign': c.campaign }, h('td', {}, h('a', { href: '#/campaigns/' + encodeURIComponent(c.campaign), text: c.name || c.campaign })));
        cells(tr, [money(c.cost, c.currency), String(c.reach), String(c.leads), String(c.sql), String(c.deals), money(c.revenue, c.currency),
          pct(c.conversion_rate), num(c.roi, 2), money(c.cac, c.currency)]);
        return tr;
      });
      const chanRows = (chans.channels || []).map((c) => {
        const tr = h('tr', { 'data-channel': c.channel }, h('td', { text: c.channel }));
        cells(tr, [String(c.sent), String(c.delivered) + (c.delivery_rate !== null && c.delivery_rate !== undefined ? ' (' + pct(c.delivery_rate) + ')' : ''),
          String(c.failed), String(c.opened) + ' (' + pct(c.open_rate) + ')', String(c.clicked) + ' (' + pct(c.click_rate) + ')',
          String(c.replied) + ' (' + pct(c.reply_rate) + ')', String(c.unsubscribed) + ' (' + pct(c.unsubscribe_rate) + ')', money(c.cost, c.currency)]);
        return tr;
      });
      const handRows = (hands.reps || []).map((r) => {
        const tr = h('tr', { 'data-rep': r.rep }, h('td', { text: r.rep }));
        cells(tr, [String(r.received), String(r.followed_up), dur(r.median_follow_up_seconds), String(r.sla_breaches)]);
        return tr;
      });
      const none = (rows, n) => (rows.length ? rows : [h('tr', {}, h('td', { colspan: String(n), class: 'muted', text: t('none') }))]);

      put(out,
        h('p', { class: 'muted', id: 'r-period', text: funnel.from + ' – ' + funnel.to + ' (' + funnel.timezone + ')' }),
        section('funnel', t('funnel') + (src ? ' · ' + src : ''), csv('funnel', { source: src }), bars,
          h('table', { class: 'stats' }, h('thead', {}, h('tr', {}, [t('stage'), t('entered'), t('conversion'), t('left'), t('medianStay')].map((c) => h('th', { text: c })))),
            h('tbody', {}, funnelRows)),
          lineChart('funnel-chart', dates, ['prospect', 'mql', 'sql', 'customer'].map((st) =>
            ({ name: t('st_' + st), values: sumBy(funnel.days, (d) => (d.entered || {})[st]) })))),
        section('campaign-report', t('campaignReport'), csv('campaigns'),
          h('table', { class: 'stats' }, h('thead', {}, h('tr', {}, [t('campaign'), t('cost'), t('reach'), t('leads'), 'SQL', t('deals'), t('revenue'), t('conversion'), 'ROI', 'CAC']
            .map((c) => h('th', { text: c })))), h('tbody', {}, none(campRows, 10))),
          lineChart('campaign-chart', dates, ['reach', 'leads', 'sql', 'deals'].map((k) => ({ name: k === 'sql' ? 'SQL' : t(k), values: sumBy(camps.days, k) })))),
        section('channel-report', t('channelReport'), csv('channels'),
          h('table', { class: 'stats' }, h('thead', {}, h('tr', {}, [t('channel'), t('sentN'), t('delivered'), t('failed'), t('opened'), t('clicked'), t('replied'), t('unsubscribed'), t('cost')]
            .map((c) => h('th', { text: c })))), h('tbody', {}, none(chanRows, 9))),
          lineChart('channel-chart', dates, (chans.channels || []).map((c) => ({ name: c.channel, values: sumBy((chans.days || []).filter((d) => d.channel === c.channel), 'sent') })))),
        section('handoff-report', t('handoffReport'), csv('handoffs'),
          h('table', { class: 'stats' }, h('thead', {}, h('tr', {}, [t('rep'), t('received'), t('followedUp'), t('medianFollowUp'), t('slaBreaches')].map((c) => h('th', { text: c })))),
            h('tbody', {}, none(handRows, 5))),
          lineChart('handoff-chart', dates, [{ name: t('received'), values: sumBy(hands.days, 'received') }, { name: t('followedUp'), values: sumBy(hands.days, 'followed_up') }])));
    };

    mount(h('h1', { text: t('reports') }),
      h('form', { class: 'row', id: 'report-form', onsubmit: (ev) => { ev.preventDefault(); guard(load)(); } },
        h('span', { class: 'muted', text: t('period') }), from, '–', to, h('span', { class: 'muted', text: t('source') }), source,
        h('button', { type: 'submit', class: 'primary', text: t('show') })),
      out);
    source.addEventListener('change', guard(load));
    await load();
  }

  JG.words({
    zh: {
      reports: '报表', period: '时间段', source: '来源', allSources: '全部来源', show: '查看', downloadCSV: '下载 CSV',
      funnel: '转化漏斗', entered: '进入', conversion: '转化率', left: '离开', medianStay: '停留时长中位数',
      st_prospect: '潜在客户', st_mql: 'MQL', st_sql: 'SQL', st_customer: '客户',
      campaignReport: '活动效果', campaign: '活动', cost: '成本', reach: '触达', leads: '线索', deals: '成交', revenue: '收入',
      channelReport: '渠道对比', sentN: '发送', delivered: '送达', failed: '失败', opened: '打开', clicked: '点击', replied: '回复', unsubscribed: '退订',
      handoffReport: '销售跟进', received: '接收', followedUp: '已跟进', medianFollowUp: '跟进时长中位数', slaBreaches: '超时',
      minutes: '分钟', hours: '小时', days: '天'
    },
    en: {
      reports: 'Reports', period: 'Period', source: 'Source', allSources: 'all sources', show: 'Show', downloadCSV: 'Download CSV',
      funnel: 'Funnel', entered: 'Entered', conversion: 'Conversion', left: 'Left', medianStay: 'Median stay',
      st_prospect: 'prospect', st_mql: 'MQL', st_sql: 'SQL', st_customer: 'customer',
      campaignReport: 'Campaign effectiveness', campaign: 'Campaign', cost: 'Cost', reach: 'Reach', leads: 'Leads', deals: 'Deals', revenue: 'Revenue',
      channelReport: 'Channels', sentN: 'Sent', delivered: 'Delivered', failed: 'Failed', opened: 'Opened', clicked: 'Clicked', replied: 'Replied', unsubscribed: 'Unsubscribed',
      handoffReport: 'Sales hand-offs', received: 'Received', followedUp: 'Followed up', medianFollowUp: 'Median follow-up', slaBreaches: 'SLA breaches',
      minutes: 'min', hours: 'h', days: 'days'
    }
  });
  JG.page('reports', ['admin', 'marketer'], reportsPage);
})();
