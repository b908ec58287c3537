// Console page: templates (list, editor with locales and A/B arms, live
// preview, drafts and publishing, history and diff, test send).
'use strict';
(() => {
  const { h, t, api, badge, when, table, field, guard, debounce, mount, kvText, kvParse, put } = JG;

  // ---- templates ----------------------------------------------------------

  async function templatesPage(args, alive) {
    if (args[0]) return templateEditor(args[0], alive);
    const { templates } = await api('GET', '/templates');
    if (!alive()) return;
    const id = h('input', { id: 'new-template', placeholder: 'webinar_reminder', pattern: '[A-Za-z0-9_.-]+' });
    mount(h('h1', { text: t('templates') }),
      table([t('id'), t('name'), t('purpose'), t('channels'), t('version'), t('updated'), t('by')], (templates || []).map((x) =>
        h('tr', { 'data-template': x.id }, h('td', {}, h('a', { href: '#/templates/' + encodeURIComponent(x.id), text: x.id })),
          h('td', { text: x.name }), h('td', { text: t(x.purpose) }), h('td', { text: (x.channels || []).join(', ') }),
          h('td', { text: 'v' + x.version }), h('td', { text: when(x.updated_at) }), h('td', { text: x.updated_by || '' })))),
      h('form', { class: 'row', onsubmit: (ev) => { ev.preventDefault(); if (id.value.trim()) location.hash = '#/templates/' + encodeURIComponent(id.value.trim()); } },
        id, h('button', { type: 'submit', text: t('newTemplate') })));
  }

  const SERVER_FIELDS = ['id', 'version', 'updated_at', 'updated_by', 'status', 'published_version', 'published_at', 'published_by'];

  // The editor edits one body at a time: the main (zh-CN) body or a
  // translation, of the main arm or an A/B arm. bodyAt finds that body in
  // the template JSON (make: create it); tabs switch between them, and the
  // form's fields are written back before every switch, save and preview.
  const LOCALES = ['', 'en'];
  function bodyAt(b, at, make) {
    let arm = b;
    if (at.variant) {
      if (!b.variants || !b.variants[at.variant]) { if (!make) return null; b.variants = b.variants || {}; b.variants[at.variant] = { channels: {} }; }
      arm = b.variants[at.variant];
    }
    if (!at.locale) return arm;
    if (!arm.locales || !arm.locales[at.locale]) { if (!make) return null; arm.locales = arm.locales || {}; arm.locales[at.locale] = { channels: {} }; }
    return arm.locales[at.locale];
  }
  const empty = (x) => !x || !x.channels || Object.keys(x.channels).length === 0;
  // prune drops alternate bodies left without channels, so opening a tab
  // and leaving it empty saves nothing.
  function prune(b) {
    for (const arm of [b, ...Object.values(b.variants || {})]) {
      for (const [l, body] of Object.entries(arm.locales || {})) if (empty(body)) delete arm.locales[l];
      if (arm.locales && Object.keys(arm.locales).length === 0) delete arm.locales;
    }
    for (const [v, arm] of Object.entries(b.variants || {})) if (empty(arm) && !arm.locales) delete b.variants[v];
    if (b.variants && Object.keys(b.variants).length === 0) delete b.variants;
    return b;
  }

  async function templateEditor(id, alive) {
    let tpl;
    try {
      tpl = await api('GET', '/templates/' + encodeURIComponent(id));
    } catch (e) {
      if (e.status !== 404) throw e;
      tpl = { name: id, purpose: 'marketing', channels: {} };
    }
    if (!alive()) return;
    // work is the template as edited: the loaded JSON with the form's
    // fields written over it, so parts the form does not show (vars,
    // official-account fields) are kept.
    let work = JSON.parse(JSON.stringify(tpl));
    const at = { locale: '', variant: '' };
    const inp = (fid, attrs) => h('input', Object.assign({ id: fid }, attrs || {}));
    const area = (fid, rows) => h('textarea', { id: fid, rows: rows || 3 });
    const f = {
      name: inp('f-name', { value: tpl.name || '' }),
      purpose: h('select', { id: 'f-purpose' }, ['marketing', 'service', 'transactional'].map((p) => h('option', { value: p, text: t(p) }))),
      wecom: area('f-wecom-text'),
      oaText: area('f-oa-text'),
      oaTpl: inp('f-oa-template'),
      smsCode: inp('f-sms-code', { placeholder: 'SMS_123456' }),
      smsParams: area('f-sms-params'),
      subject: inp('f-email-subject'),
      emailText: area('f-email-text'),
      emailHTML: area('f-email-html', 4),
      vars: area('f-vars'),
    };
    f.purpose.value = tpl.purpose || 'marketing';
    f.vars.value = kvText(Object.fromEntries((tpl.vars || []).map((v) => [v.name, v.sample || v.default || ''])));

    // fill shows the current body's channels in the form.
    const fill = () => {
      const ch = (bodyAt(work, at, false) || {}).channels || {};
      f.wecom.value = (ch.wecom && ch.wecom.text) || '';
      f.oaText.value = (ch.officialaccount && ch.officialaccount.text) || '';
      f.oaTpl.value = (ch.officialaccount && ch.officialaccount.template_id) || '';
      f.smsCode.value = (ch.sms && ch.sms.template_code) || '';
      f.smsParams.value = kvText(ch.sms && ch.sms.params);
      f.subject.value = (ch.email && ch.email.subject) || '';
      f.emailText.value = (ch.email && ch.email.text) || '';
      f.emailHTML.value = (ch.email && ch.email.html) || '';
    };
    // commit writes the form into the current body.
    const commit = () => {
      work.name = f.name.value;
      work.purpose = f.purpose.value;
      const target = bodyAt(work, at, true);
      const c = target.channels = target.channels || {};
      const set = (name, filled, build) => { if (filled) c[name] = Object.assign(c[name] || {}, build()); else delete c[name]; };
      set('wecom', f.wecom.value !== '', () => ({ text: f.wecom.value }));
      set('officialaccount', f.oaText.value !== '' || f.oaTpl.value !== '', () => ({ text: f.oaText.value || undefined, template_id: f.oaTpl.value || undefined }));
      set('sms', f.smsCode.value !== '', () => ({ template_code: f.smsCode.value, params: kvParse(f.smsParams.value) }));
      set('email', f.subject.value !== '' || f.emailText.value !== '' || f.emailHTML.value !== '',
        () => ({ subject: f.subject.value, text: f.emailText.value || undefined, html: f.emailHTML.value || undefined }));
    };
    const body = () => {
      commit();
      const b = prune(JSON.parse(JSON.stringify(work)));
      SERVER_FIELDS.forEach((k) => delete b[k]);
      return b;
    };
    fill();

    const preview = h('div', { id: 'preview' });
    const status = h('p', { id: 'save-status', class: 'muted' });
    const historyBox = h('div', { id: 'history' });
    const diffBox = h('div', { id: 'diff' });
    const localeTabs = h('div', { class: 'tabs', id: 'locale-tabs' });
    const variantTabs = h('div', { class: 'tabs', id: 'variant-tabs' });
    let previewSeq = 0;
    const renderPreview = async () => {
      const seq = ++previewSeq;
      try {
        const req = { template: body(), vars: kvParse(f.vars.value) };
        if (at.locale) req.locale = at.locale;
        if (at.variant) req.variant = at.variant;
        const res = await api('POST', '/templates/preview', req);
        if (seq !== previewSeq || !alive()) return;
        preview.replaceChildren(...(res.problems || []).map((x) => h('div', { class: 'card bad', 'data-problem': x.path, text: x.path + ': ' + x.message })),
          ...(res.channels || []).map(previewCard));
        preview.setAttribute('data-seq', String(seq));
        preview.setAttribute('data-at', (at.variant || 'a') + '/' + (at.locale || 'zh-CN'));
      } catch (e) {
        if (seq !== previewSeq || !alive()) return;
        preview.replaceChildren(h('div', { class: 'card bad', text: (e.code ? '[' + e.code + '] ' : '') + e.message }));
      }
    };
    const schedulePreview = debounce(renderPreview, 250);
    Object.values(f).forEach((el) => el.addEventListener('input', schedulePreview));
    f.purpose.addEventListener('change', schedulePreview);

    // switchTo keeps the form's edits and opens another body.
    const switchTo = (locale, variant) => {
      commit();
      at.locale = locale;
      at.variant = variant;
      fill();
      tabs();
      renderPreview();
    };
    const tab = (on, attrs, text, onclick) => h('button', Object.assign({ type: 'button', class: on ? 'tab on' : 'tab', text, onclick }, attrs));
    const tabs = () => {
      put(localeTabs, h('span', { class: 'muted', text: t('locale') + ' ' }), LOCALES.map((l) =>
        tab(at.locale === l, { 'data-locale': l || 'zh-CN' }, l || 'zh-CN', () => switchTo(l, at.variant))));
      const arms = Object.keys(work.variants || {}).sort();
      const next = 'bcdefgh'.split('').find((x) => !arms.includes(x));
      put(variantTabs, h('span', { class: 'muted', text: t('variant') + ' ' }),
        tab(at.variant === '', { 'data-variant': 'a' }, t('mainArm'), () => switchTo(at.locale, '')),
        arms.map((v) => tab(at.variant === v, { 'data-variant': v }, v, () => switchTo(at.locale, v))),
        next ? tab(false, { id: 'add-variant' }, '+ ' + next, () => { commit(); bodyAt(work, { variant: next, locale: '' }, true); switchTo(at.locale, next); }) : null);
    };
    tabs();

    const save = async (draft) => {
      const res = await api('PUT', '/templates/' + encodeURIComponent(id), Object.assign(body(), { draft: true }));
      tpl = res.template;
      if (!draft) {
        tpl = await api('POST', '/templates/' + encodeURIComponent(id) + '/publish', { version: res.template.version });
        status.textContent = t('publishedV') + tpl.version;
      } else {
        status.textContent = res.changed ? t('savedDraft') + tpl.version : t('unchanged');
      }
      await loadHistory();
    };
    const loadHistory = async () => {
      let versions;
      try {
        ({ versions } = await api('GET', '/templates/' + encodeURIComponent(id) + '/versions'));
      } catch (e) {
        if (e.status === 404) return;
        throw e;
      }
      if (!alive()) return;
      historyBox.replaceChildren(table([t('version'), t('status'), t('updated'), t('by'), t('publishedAt'), ''], (versions || []).map((v, i) =>
        h('tr', { 'data-version': String(v.version) }, h('td', { text: 'v' + v.version }), h('td', {}, v.status ? badge(v.status) : ''),
          h('td', { text: when(v.updated_at) }), h('td', { text: v.updated_by || '' }), h('td', { text: when(v.published_at) }),
          h('td', { class: 'row' },
            i + 1 < versions.length ? h('button', { type: 'button', class: 'link', text: t('diff'), onclick: guard(() => showDiff(versions[i + 1].version, v.version)) }) : null,
            v.status !== 'published' ? h('button', { type: 'button', class: 'link', 'data-publish': String(v.version),
              text: i === 0 ? t('publishThis') : t('rollback'), onclick: guard(async () => {
                tpl = await api('POST', '/templates/' + encodeURIComponent(id) + '/publish', { version: v.version });
                status.textContent = t('publishedV') + v.version;
                await loadHistory();
              }) }) : null)))));
    };
    const showDiff = async (from, to) => {
      const d = await api('GET', '/templates/' + encodeURIComponent(id) + '/diff?from=' + from + '&to=' + to);
      diffBox.replaceChildren(h('h2', { text: t('changes') + ' v' + d.from + ' → v' + d.to }),
        (d.changes || []).length === 0 ? h('p', { class: 'muted', text: t('noChanges') }) :
          h('table', { class: 'diff' }, h('tbody', {}, d.changes.map((c) => h('tr', {}, h('td', { text: c.path }),
            h('td', { class: 'from pre', text: c.from === undefined ? '' : String(c.from) }), h('td', { class: 'to pre', text: c.to === undefined ? '' : String(c.to) }))))));
    };

    mount(h('p', {}, h('a', { href: '#/templates', text: '← ' + t('templates') })),
      h('h1', {}, id + ' ', tpl.version ? badge('published', 'v' + tpl.version) : h('span', { class: 'muted', text: t('newFile') })),
      h('div', { class: 'cols' },
        h('form', { id: 'editor', onsubmit: (ev) => ev.preventDefault() },
          field(t('name'), f.name), field(t('purpose'), f.purpose), variantTabs, localeTabs,
          h('fieldset', {}, h('legend', { text: 'wecom' }), field(t('wecomText'), f.wecom)),
          h('fieldset', {}, h('legend', { text: 'officialaccount' }), field(t('oaText'), f.oaText), field(t('oaTemplateId'), f.oaTpl)),
          h('fieldset', {}, h('legend', { text: 'sms' }), field(t('smsCode'), f.smsCode), field(t('smsParams'), f.smsParams)),
          h('fieldset', {}, h('legend', { text: 'email' }), field(t('emailSubject'), f.subject), field(t('emailText'), f.emailText), field(t('emailHTML'), f.emailHTML)),
          h('div', { class: 'row' },
            h('button', { type: 'button', id: 'save-draft', text: t('saveDraft'), onclick: guard(() => save(true)) }),
            h('button', { type: 'button', id: 'publish', class: 'primary', text: t('publish'), onclick: guard(() => save(false)) })),
          status),
        h('div', {}, h('h2', { text: t('preview') }), field(t('sampleVars'), f.vars), preview,
          testSendForm(id, () => ({ vars: kvParse(f.vars.value), locale: at.locale, variant: at.variant }), alive))),
      h('h2', { text: t('history') }), historyBox, diffBox);
    await Promise.all([renderPreview(), loadHistory()]);
  }

  // testSendForm sends the newest version (drafts included) to a colleague
  // on a chosen channel, then follows the message until the platform took
  // it or it stopped, so a marketer sees the send happen, not just queue.
  const RECIPIENT = { sms: 'phone', email: 'email', officialaccount: 'openid', wecom: 'external_userid' };
  const TERMINAL = ['sent', 'delivered', 'failed', 'capped', 'suppressed', 'cancelled'];
  function testSendForm(id, current, alive) {
    const ch = h('select', { id: 'test-channel' }, JG.CHANNELS.map((c) => h('option', { value: c, text: c })));
    const kind = h('select', { id: 'test-kind' }, ['phone', 'email', 'openid', 'unionid', 'external_userid'].map((k) => h('option', { value: k, text: k })));
    const to = h('input', { id: 'test-to' });
    const result = h('div', { id: 'test-result' });
    const showKind = () => { to.placeholder = { phone: '13800138000', email: 'a@example.com', openid: 'oAbc…', unionid: 'oUnion…', external_userid: 'wmAbc…' }[kind.value]; };
    // A channel picks its usual identity; the person may still pick another
    // (an SMS to the contact found by its openid, say).
    const byChannel = () => { kind.value = RECIPIENT[ch.value]; showKind(); };
    ch.addEventListener('change', byChannel);
    ch.addEventListener('input', byChannel);
    kind.addEventListener('change', showKind);
    byChannel();
    let follow = 0;
    const send = async () => {
      const c = current();
      const req = { to: { [kind.value]: to.value.trim() }, channel: ch.value, vars: c.vars };
      if (c.locale) req.locale = c.locale;
      if (c.variant) req.variant = c.variant;
      const res = await api('POST', '/templates/' + encodeURIComponent(id) + '/test-send', req);
      const mine = ++follow;
      const state = h('span', { id: 'test-status' }, badge(res.status, res.status));
      const detail = h('div', { class: 'note', id: 'test-detail' });
      result.replaceChildren(h('p', {}, t('sent'), h('code', { id: 'test-message', text: res.id }), ' · v' + res.template_version + ' · ', state), detail);
      for (let i = 0; i < 60 && mine === follow && alive(); i++) {
        const m = await api('GET', '/messages/' + encodeURIComponent(res.id));
        state.replaceChildren(badge(m.status, m.status));
        state.setAttribute('data-status', m.status);
        detail.textContent = [m.channel, m.platform_id, m.reason, m.error].filter(Boolean).join(' · ');
        if (TERMINAL.includes(m.status)) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    };
    return h('div', {}, h('h2', { text: t('testSend') }),
      h('form', { class: 'row', id: 'test-form', onsubmit: (ev) => { ev.preventDefault(); guard(send)(); } },
        ch, kind, to, h('button', { type: 'submit', id: 'test-send', text: t('send') })),
      h('p', { class: 'note', text: t('testHint') }), result);
  }

  // smsSegments counts what an SMS of n characters costs: 70 in one,
  // 67 a segment once it is split.
  const smsSegments = (n) => (n <= 70 ? 1 : Math.ceil(n / 67));

  function previewCard(p) {
    const r = p.rendered || {};
    const lines = [];
    if (p.error) lines.push(h('div', { class: 'bad pre', text: p.error }));
    if (r.title) lines.push(h('div', { class: 'pre' }, h('b', { text: r.title })));
    if (r.subject) lines.push(h('div', { class: 'pre' }, h('b', { text: r.subject })));
    if (r.text) lines.push(h('div', { class: 'pre', text: r.text }));
    if (r.text_body) lines.push(h('div', { class: 'pre', text: r.text_body }));
    if (r.template_id) lines.push(h('div', { class: 'muted', text: 'template_id ' + r.template_id }));
    if (r.fields) lines.push(h('div', { class: 'pre', text: kvText(r.fields) }));
    if (r.template_code) {
      lines.push(h('div', { class: 'muted', text: r.template_code }), h('div', { class: 'pre', text: kvText(r.params) }));
      const chars = r.sms_chars !== undefined ? r.sms_chars : [...Object.values(r.params || {}).join('')].length;
      const n = r.segments !== undefined ? r.segments : smsSegments(chars);
      lines.push(h('div', { class: 'note', 'data-segments': String(n), text: t('segments', { n, c: chars }) }));
    }
    const used = [p.locale || r.locale, p.variant || r.variant].filter(Boolean).join(' · ');
    return h('div', { class: 'card', 'data-channel': p.channel }, h('h3', {}, p.channel + ' ', used ? h('span', { class: 'muted', text: used }) : null), lines);
  }

  JG.words({
    zh: { locale: '语言', variant: '版本（A/B）', mainArm: 'A（主版本）', testHint: '测试发送用最新版本（含草稿）和当前打开的语言、版本，变量取自上方的预览变量；作为交易消息发出，不需要营销同意。状态每秒刷新。' },
    en: { locale: 'Language', variant: 'Arm (A/B)', mainArm: 'A (main)', testHint: 'A test send uses the newest version (drafts included) in the open language and arm, with the preview variables above, as a transactional message, so no marketing consent is needed. The status refreshes every second.' },
  });
  JG.page('templates', ['admin', 'marketer'], templatesPage);
})();
