// JourneyGate console: hand-written, no framework, no build step. Pages live
// in the URL fragment (#/templates/welcome); every API call carries the
// token kept in sessionStorage; text from the API is only ever set as text,
// never parsed as HTML.
'use strict';
(() => {
  const T = {
    zh: {
      title: 'JourneyGate 控制台', templates: '模板', campaigns: '活动', dialogs: '对话', contacts: '联系人', handoffs: '跟进',
      login: '登录', token: '访问令牌', loginHint: '请输入管理员发给您的访问令牌。令牌只保存在本标签页。', logout: '退出', lang: 'English',
      id: 'ID', name: '名称', purpose: '用途', channels: '渠道', version: '版本', status: '状态', updated: '更新时间', by: '修改人',
      newTemplate: '新建模板', open: '打开', edit: '编辑', preview: '实时预览', saveDraft: '保存草稿', publish: '发布',
      history: '历史版本', diff: '对比', publishThis: '发布此版本', rollback: '回滚到此版本', published: '已发布', draft: '草稿', superseded: '已替换',
      publishedAt: '发布时间', changes: '改动', from: '原内容', to: '新内容', noChanges: '没有改动', sampleVars: '预览变量（每行 名称=值）',
      wecomText: '企业微信文本', oaText: '公众号客服消息文本', oaTemplateId: '公众号模板消息 ID', smsCode: '短信模板 CODE', smsParams: '短信参数（每行 名称=值）',
      emailSubject: '邮件主题', emailText: '邮件纯文本', emailHTML: '邮件 HTML', marketing: '营销', service: '服务', transactional: '交易',
      savedDraft: '已保存草稿 v', publishedV: '已发布 v', unchanged: '内容没有变化', segments: '短信约 {n} 条（{c} 字，70 字/条，长短信 67 字/条）',
      newFile: '新模板（尚未保存）', testSend: '测试发送', send: '发送', sent: '已提交，消息 ID：', to_: '收件人',
      newCampaign: '新建活动', audience: '受众表达式', audienceCount: '预计人数：', template: '模板', channel: '渠道', any: '自动',
      sendAt: '发送时间（留空为立即）', owner: '负责人（企业微信 userid）', pilotShare: '试发比例（0–1）', create: '创建',
      audienceSize: '受众', dispatched: '已派发', pause: '暂停', resume: '继续', cancel: '取消活动', totals: '统计', notice: '提示', winner: '胜出版本',
      refreshing: '每 3 秒自动刷新', scripts: '对话脚本', priority: '优先级', file: '文件', steps: '步骤', problems: '校验问题', noProblems: '没有问题',
      tryChat: '测试对话', tryHint: '输入客户会说的话，查看脚本的回复。只是演练：不发送任何消息，不改动任何联系人。', restart: '重新开始',
      waitsAt: '等待于步骤', ended: '对话结束', handedOff: '已转人工', say: '客户说…',
      lookup: '查找', kind: '身份类型', value: '值', tags: '标签', score: '分数', stage: '阶段', activity: '活跃度', consent: '同意状态',
      timeline: '时间线', lastSeen: '最近活跃', identities: '身份', when: '时间', type: '类型', detail: '详情',
      mine: '只看我的', overdue: '只看逾期', rep: '负责人', openedAt: '转交时间', dueAt: '提醒时间', done: '已跟进', noneOpen: '没有待跟进的线索',
      scheduled: '已排期', running: '进行中', paused: '已暂停', cancelled: '已取消', done_: '已完成',
      isOverdue: '逾期', onTime: '未逾期', doneOk: '已标记跟进', loading: '加载中…', none: '无', back: '返回', role: '角色'
    },
    en: {
      title: 'JourneyGate console', templates: 'Templates', campaigns: 'Campaigns', dialogs: 'Dialogs', contacts: 'Contacts', handoffs: 'Hand-offs',
      login: 'Log in', token: 'Access token', loginHint: 'Enter the access token your admin gave you. It is kept in this tab only.', logout: 'Log out', lang: '中文',
      id: 'ID', name: 'Name', purpose: 'Purpose', channels: 'Channels', version: 'Version', status: 'Status', updated: 'Updated', by: 'By',
      newTemplate: 'New template', open: 'Open', edit: 'Edit', preview: 'Live preview', saveDraft: 'Save draft', publish: 'Publish',
      history: 'History', diff: 'Diff', publishThis: 'Publish this version', rollback: 'Roll back to this version', published: 'published', draft: 'draft', superseded: 'superseded',
      publishedAt: 'Published', changes: 'Changes', from: 'From', to: 'To', noChanges: 'No changes', sampleVars: 'Preview variables (one name=value a line)',
      wecomText: 'WeCom text', oaText: 'Official account text', oaTemplateId: 'Official account template id', smsCode: 'SMS template code', smsParams: 'SMS params (one name=value a line)',
      emailSubject: 'Email subject', emailText: 'Email text', emailHTML: 'Email HTML', marketing: 'marketing', service: 'service', transactional: 'transactional',
      savedDraft: 'Draft saved: v', publishedV: 'Published: v', unchanged: 'Nothing changed', segments: 'SMS about {n} segment(s) ({c} characters; 70 a segment, 67 when split)',
      newFile: 'New template (not saved yet)', testSend: 'Test send', send: 'Send', sent: 'Queued, message id: ', to_: 'Recipient',
      newCampaign: 'New campaign', audience: 'Audience', audienceCount: 'Contacts matched: ', template: 'Template', channel: 'Channel', any: 'automatic',
      sendAt: 'Send at (empty: now)', owner: 'Owner (WeCom userid)', pilotShare: 'Pilot share (0–1)', create: 'Create',
      audienceSize: 'Audience', dispatched: 'Dispatched', pause: 'Pause', resume: 'Resume', cancel: 'Cancel campaign', totals: 'Statistics', notice: 'Notice', winner: 'Winner',
      refreshing: 'refreshes every 3 s', scripts: 'Dialog scripts', priority: 'Priority', file: 'File', steps: 'Steps', problems: 'Problems', noProblems: 'No problems',
      tryChat: 'Test chat', tryHint: 'Type what a customer would say and see what the script answers. A dry run: nothing is sent and no contact changes.', restart: 'Start over',
      waitsAt: 'waits at step', ended: 'conversation ended', handedOff: 'handed to a human', say: 'The customer says…',
      lookup: 'Look up', kind: 'Identity', value: 'Value', tags: 'Tags', score: 'Score', stage: 'Stage', activity: 'Activity', consent: 'Consent',
      timeline: 'Timeline', lastSeen: 'Last seen', identities: 'Identities', when: 'When', type: 'Type', detail: 'Detail',
      mine: 'Mine only', overdue: 'Overdue only', rep: 'Rep', openedAt: 'Handed over', dueAt: 'Due', done: 'Followed up', noneOpen: 'No leads waiting',
      scheduled: 'scheduled', running: 'running', paused: 'paused', cancelled: 'cancelled', done_: 'done',
      isOverdue: 'overdue', onTime: 'on time', doneOk: 'Marked as followed up', loading: 'Loading…', none: 'none', back: 'Back', role: 'Role'
    }
  };
  const PAGES = [
    { id: 'templates', roles: ['admin', 'marketer'] },
    { id: 'campaigns', roles: ['admin', 'marketer'] },
    { id: 'dialogs', roles: ['admin', 'marketer'] },
    { id: 'contacts', roles: ['admin', 'marketer', 'sales'] },
    { id: 'handoffs', roles: ['admin', 'marketer', 'sales'] }
  ];
  const CHANNELS = ['wecom', 'officialaccount', 'sms', 'email'];
  const TOKEN = 'jg.token';

  let lang = localStorage.getItem('jg.lang') === 'en' ? 'en' : 'zh';
  let me = null;
  let gen = 0; // bumps on every navigation; stale async work checks it
  let timers = [];

  const t = (k, vars) => {
    let s = (T[lang][k] !== undefined ? T[lang][k] : T.zh[k]) || k;
    for (const [n, v] of Object.entries(vars || {})) s = s.replace('{' + n + '}', String(v));
    return s;
  };
  const $ = (sel) => document.querySelector(sel);

  // h builds an element; strings become text nodes, never HTML.
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'text') el.textContent = v;
      else if (k === 'value') el.value = v;
      else if (k === 'checked') el.checked = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const kid of kids.flat()) {
      if (kid === undefined || kid === null || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }
  const field = (label, input) => [h('label', { for: input.id, text: label }), input];
  const badge = (s, text) => h('span', { class: 'badge ' + s, text: text || t(s === 'done' ? 'done_' : s) });
  const when = (s) => {
    if (!s || s.startsWith('0001-')) return '';
    const d = new Date(s);
    return isNaN(d) ? s : d.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false });
  };
  const table = (head, rows) => h('table', {}, h('thead', {}, h('tr', {}, head.map((c) => h('th', { text: c })))),
    h('tbody', {}, rows));

  async function api(method, path, body) {
    const headers = { Authorization: 'Bearer ' + (sessionStorage.getItem(TOKEN) || '') };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch('/api/v1' + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
    if (!res.ok) {
      const e = new Error(data && data.error ? data.error : res.status + ' ' + res.statusText);
      e.code = data && data.code;
      e.status = res.status;
      throw e;
    }
    return data;
  }

  function showError(e) {
    const el = $('#error');
    el.textContent = (e.code ? '[' + e.code + '] ' : '') + (e.message || String(e));
    el.hidden = false;
  }
  function clearError() { $('#error').hidden = true; $('#error').textContent = ''; }
  // guard runs an action and shows its error instead of throwing.
  const guard = (f) => async (...args) => { try { clearError(); await f(...args); } catch (e) { showError(e); } };
  const every = (f, ms) => { const id = setInterval(f, ms); timers.push(() => clearInterval(id)); };
  const debounce = (f, ms) => { let id; return (...a) => { clearTimeout(id); id = setTimeout(() => f(...a), ms); }; };
  const mount = (...kids) => $('#main').replaceChildren(...kids);

  // ---- frame: nav, language, log-in -------------------------------------

  function frame() {
    document.title = t('title');
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    $('#lang').textContent = t('lang');
    $('#logout').textContent = t('logout');
    $('#logout').hidden = !me;
    $('#who').textContent = me ? me.name + ' · ' + me.role + (me.userid ? ' · ' + me.userid : '') : '';
    const page = location.hash.split('/')[1] || '';
    $('#nav').replaceChildren(...(me ? PAGES.filter((p) => p.roles.includes(me.role)).map((p) =>
      h('a', { href: '#/' + p.id, 'data-page': p.id, class: p.id === page ? 'on' : null, text: t(p.id) })) : []));
  }

  function loginPage(err) {
    me = null;
    frame();
    const input = h('input', { id: 'token', type: 'password', autocomplete: 'off' });
    const submit = async (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN, input.value.trim());
      route();
    };
    mount(h('form', { class: 'login', id: 'login', onsubmit: submit },
      h('h1', { text: t('login') }), h('p', { class: 'muted', text: t('loginHint') }),
      field(t('token'), input), h('div', { class: 'row' }, h('button', { class: 'primary', type: 'submit', text: t('login') }))));
    if (err) showError(err);
    input.focus();
  }

  async function route() {
    gen++;
    timers.forEach((stop) => stop());
    timers = [];
    clearError();
    if (!sessionStorage.getItem(TOKEN)) return loginPage();
    if (!me) {
      try {
        me = await api('GET', '/me');
      } catch (e) {
        sessionStorage.removeItem(TOKEN);
        return loginPage(e);
      }
    }
    const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
    const allowed = PAGES.filter((p) => p.roles.includes(me.role)).map((p) => p.id);
    let page = parts[0];
    if (!allowed.includes(page)) {
      page = me.role === 'sales' ? 'handoffs' : 'templates';
      history.replaceState(null, '', '#/' + page);
      parts.length = 0;
      parts.push(page);
    }
    frame();
    mount(h('p', { class: 'muted', text: t('loading') }));
    const my = gen;
    const alive = () => my === gen;
    try {
      await VIEWS[page](parts.slice(1), alive);
    } catch (e) {
      if (alive()) { mount(); showError(e); }
    }
  }

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
  const kvText = (m) => Object.entries(m || {}).map(([k, v]) => k + '=' + v).join('\n');
  const kvParse = (s) => {
    const out = {};
    for (const line of s.split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    return out;
  };

  async function templateEditor(id, alive) {
    let tpl;
    try {
      tpl = await api('GET', '/templates/' + encodeURIComponent(id));
    } catch (e) {
      if (e.status !== 404) throw e;
      tpl = { name: id, purpose: 'marketing', channels: {} };
    }
    if (!alive()) return;
    const ch = tpl.channels || {};
    const inp = (fid, value, attrs) => h('input', Object.assign({ id: fid, value: value || '' }, attrs || {}));
    const area = (fid, value, rows) => h('textarea', { id: fid, rows: rows || 3, value: value || '' });
    const f = {
      name: inp('f-name', tpl.name),
      purpose: h('select', { id: 'f-purpose' }, ['marketing', 'service', 'transactional'].map((p) => h('option', { value: p, text: t(p) }))),
      wecom: area('f-wecom-text', ch.wecom && ch.wecom.text),
      oaText: area('f-oa-text', ch.officialaccount && ch.officialaccount.text),
      oaTpl: inp('f-oa-template', ch.officialaccount && ch.officialaccount.template_id),
      smsCode: inp('f-sms-code', ch.sms && ch.sms.template_code, { placeholder: 'SMS_123456' }),
      smsParams: area('f-sms-params', kvText(ch.sms && ch.sms.params)),
      subject: inp('f-email-subject', ch.email && ch.email.subject),
      emailText: area('f-email-text', ch.email && ch.email.text),
      emailHTML: area('f-email-html', ch.email && ch.email.html, 4),
      vars: area('f-vars', kvText(Object.fromEntries((tpl.vars || []).map((v) => [v.name, v.sample || v.default || ''])))),
    };
    f.purpose.value = tpl.purpose || 'marketing';

    // body is the template as edited: the loaded JSON with the form's fields
    // over it, so parts the form does not show (vars, locales, variants,
    // official-account fields) are kept.
    const body = () => {
      const b = JSON.parse(JSON.stringify(tpl));
      SERVER_FIELDS.forEach((k) => delete b[k]);
      b.name = f.name.value;
      b.purpose = f.purpose.value;
      const c = b.channels = b.channels || {};
      const set = (name, filled, build) => { if (filled) c[name] = Object.assign(c[name] || {}, build()); else delete c[name]; };
      set('wecom', f.wecom.value !== '', () => ({ text: f.wecom.value }));
      set('officialaccount', f.oaText.value !== '' || f.oaTpl.value !== '', () => ({ text: f.oaText.value || undefined, template_id: f.oaTpl.value || undefined }));
      set('sms', f.smsCode.value !== '', () => ({ template_code: f.smsCode.value, params: kvParse(f.smsParams.value) }));
      set('email', f.subject.value !== '' || f.emailText.value !== '' || f.emailHTML.value !== '',
        () => ({ subject: f.subject.value, text: f.emailText.value || undefined, html: f.emailHTML.value || undefined }));
      return b;
    };

    const preview = h('div', { id: 'preview' });
    const status = h('p', { id: 'save-status', class: 'muted' });
    const historyBox = h('div', { id: 'history' });
    const diffBox = h('div', { id: 'diff' });
    let previewSeq = 0;
    const renderPreview = async () => {
      const seq = ++previewSeq;
      try {
        const res = await api('POST', '/templates/preview', { template: body(), vars: kvParse(f.vars.value) });
        if (seq !== previewSeq || !alive()) return;
        preview.replaceChildren(...(res.problems || []).map((x) => h('div', { class: 'card bad', 'data-problem': x.path, text: x.path + ': ' + x.message })),
          ...(res.channels || []).map(previewCard));
        preview.setAttribute('data-seq', String(seq));
      } catch (e) {
        if (seq !== previewSeq || !alive()) return;
        preview.replaceChildren(h('div', { class: 'card bad', text: (e.code ? '[' + e.code + '] ' : '') + e.message }));
      }
    };
    const schedulePreview = debounce(renderPreview, 250);
    Object.values(f).forEach((el) => el.addEventListener('input', schedulePreview));
    f.purpose.addEventListener('change', schedulePreview);

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

    const sendTo = h('input', { id: 'test-to', placeholder: '13800138000 / a@example.com' });
    const sendCh = h('select', { id: 'test-channel' }, CHANNELS.map((c) => h('option', { value: c, text: c })));
    const testSend = async () => {
      const kinds = { sms: 'phone', email: 'email', officialaccount: 'openid', wecom: 'external_userid' };
      const res = await api('POST', '/templates/' + encodeURIComponent(id) + '/test-send',
        { to: { [kinds[sendCh.value]]: sendTo.value.trim() }, channel: sendCh.value, vars: kvParse(f.vars.value) });
      status.textContent = t('sent') + res.id;
    };

    mount(h('p', {}, h('a', { href: '#/templates', text: '← ' + t('templates') })),
      h('h1', {}, id + ' ', tpl.version ? badge('published', 'v' + tpl.version) : h('span', { class: 'muted', text: t('newFile') })),
      h('div', { class: 'cols' },
        h('form', { id: 'editor', onsubmit: (ev) => ev.preventDefault() },
          field(t('name'), f.name), field(t('purpose'), f.purpose),
          h('fieldset', {}, h('legend', { text: 'wecom' }), field(t('wecomText'), f.wecom)),
          h('fieldset', {}, h('legend', { text: 'officialaccount' }), field(t('oaText'), f.oaText), field(t('oaTemplateId'), f.oaTpl)),
          h('fieldset', {}, h('legend', { text: 'sms' }), field(t('smsCode'), f.smsCode), field(t('smsParams'), f.smsParams)),
          h('fieldset', {}, h('legend', { text: 'email' }), field(t('emailSubject'), f.subject), field(t('emailText'), f.emailText), field(t('emailHTML'), f.emailHTML)),
          h('div', { class: 'row' },
            h('button', { type: 'button', id: 'save-draft', text: t('saveDraft'), onclick: guard(() => save(true)) }),
            h('button', { type: 'button', id: 'publish', class: 'primary', text: t('publish'), onclick: guard(() => save(false)) })),
          status),
        h('div', {}, h('h2', { text: t('preview') }), field(t('sampleVars'), f.vars), preview,
          h('h2', { text: t('testSend') }), h('div', { class: 'row' }, sendCh, sendTo, h('button', { type: 'button', id: 'test-send', text: t('send'), onclick: guard(testSend) })))),
      h('h2', { text: t('history') }), historyBox, diffBox);
    await Promise.all([renderPreview(), loadHistory()]);
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
    return h('div', { class: 'card', 'data-channel': p.channel }, h('h3', { text: p.channel }), lines);
  }

  // ---- campaigns ----------------------------------------------------------

  async function campaignsPage(args, alive) {
    if (args[0] === 'new') return campaignForm(alive);
    if (args[0]) return campaignView(args[0], alive);
    const { campaigns } = await api('GET', '/campaigns');
    if (!alive()) return;
    mount(h('h1', { text: t('campaigns') }),
      h('p', {}, h('a', { href: '#/campaigns/new', id: 'new-campaign', text: '+ ' + t('newCampaign') })),
      table([t('id'), t('name'), t('status'), t('audienceSize'), t('dispatched'), t('sendAt')], (campaigns || []).map((c) =>
        h('tr', { 'data-campaign': c.id }, h('td', {}, h('a', { href: '#/campaigns/' + encodeURIComponent(c.id), text: c.id })),
          h('td', { text: c.name }), h('td', {}, badge(c.status)), h('td', { text: c.audience_size }), h('td', { text: c.dispatched }),
          h('td', { text: when(c.send_at) })))));
  }

  async function campaignForm(alive) {
    const { templates } = await api('GET', '/templates');
    if (!alive()) return;
    const f = {
      id: h('input', { id: 'c-id', placeholder: 'double11' }),
      name: h('input', { id: 'c-name' }),
      audience: h('textarea', { id: 'c-audience', rows: 2, placeholder: 'tag:vip AND NOT tag:churned AND score>=50' }),
      template: h('select', { id: 'c-template' }, (templates || []).map((x) => h('option', { value: x.id, text: x.id + ' · ' + x.name }))),
      channel: h('select', { id: 'c-channel' }, h('option', { value: '', text: t('any') }), CHANNELS.map((c) => h('option', { value: c, text: c }))),
      sendAt: h('input', { id: 'c-send-at', type: 'datetime-local' }),
      owner: h('input', { id: 'c-owner', value: me.userid || '' }),
      pilot: h('input', { id: 'c-pilot', type: 'number', min: '0', max: '1', step: '0.05', value: '0' }),
    };
    const count = h('span', { id: 'audience-count', class: 'muted' });
    const check = debounce(async () => {
      if (!f.audience.value.trim()) { count.textContent = ''; return; }
      try {
        const res = await api('POST', '/campaigns/audience/preview', { audience: f.audience.value });
        count.className = 'ok';
        count.textContent = t('audienceCount') + res.count;
      } catch (e) {
        count.className = 'bad';
        count.textContent = (e.code ? '[' + e.code + '] ' : '') + e.message;
      }
    }, 300);
    f.audience.addEventListener('input', check);
    const create = async () => {
      const body = { id: f.id.value.trim(), name: f.name.value, audience: f.audience.value, template: f.template.value,
        purpose: 'marketing', owner: f.owner.value.trim(), pilot_share: Number(f.pilot.value) || 0 };
      if (f.channel.value) body.channel = f.channel.value;
      if (f.sendAt.value) body.send_at = new Date(f.sendAt.value).toISOString();
      const c = await api('POST', '/campaigns', body);
      location.hash = '#/campaigns/' + encodeURIComponent(c.id);
    };
    mount(h('p', {}, h('a', { href: '#/campaigns', text: '← ' + t('campaigns') })), h('h1', { text: t('newCampaign') }),
      h('form', { id: 'campaign-form', onsubmit: (ev) => { ev.preventDefault(); guard(create)(); } },
        field(t('id'), f.id), field(t('name'), f.name), field(t('audience'), f.audience), count,
        field(t('template'), f.template), field(t('channel'), f.channel), field(t('sendAt'), f.sendAt),
        field(t('owner'), f.owner), field(t('pilotShare'), f.pilot),
        h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary', text: t('create') }))));
  }

  async function campaignView(id, alive) {
    const box = h('div', { id: 'campaign' });
    const load = async () => {
      const c = await api('GET', '/campaigns/' + encodeURIComponent(id));
      if (!alive()) return;
      const steer = (action) => guard(async () => { await api('POST', '/campaigns/' + encodeURIComponent(id) + '/' + action); await load(); });
      const totals = (c.stats && c.stats.totals) || {};
      box.replaceChildren(
        h('h1', {}, (c.name || c.id) + ' ', badge(c.status)),
        h('p', { class: 'muted', text: c.audience }),
        h('p', {}, t('audienceSize') + ': ' + c.audience_size + ' · ' + t('dispatched') + ': ' + c.dispatched + ' · ' + t('sendAt') + ': ' + when(c.send_at),
          c.winner ? ' · ' + t('winner') + ': ' + c.winner : ''),
        c.notice ? h('p', { class: 'warn', text: t('notice') + ': ' + c.notice }) : null,
        h('div', { class: 'row' },
          ['scheduled', 'running'].includes(c.status) ? h('button', { type: 'button', id: 'pause', text: t('pause'), onclick: steer('pause') }) : null,
          c.status === 'paused' ? h('button', { type: 'button', id: 'resume', text: t('resume'), onclick: steer('resume') }) : null,
          ['scheduled', 'running', 'paused'].includes(c.status) ? h('button', { type: 'button', id: 'cancel', text: t('cancel'), onclick: steer('cancel') }) : null),
        h('h2', {}, t('totals') + ' ', h('span', { class: 'muted', text: '(' + t('refreshing') + ')' })),
        h('table', { class: 'stats', id: 'totals' }, h('tbody', {}, Object.entries(totals).map(([k, v]) =>
          h('tr', { 'data-stat': k }, h('td', { text: k }), h('td', { text: v }))))),
        (c.variants || []).length > 1 ? table([t('name'), t('template')], c.variants.map((v) => h('tr', {}, h('td', { text: v.name + ' ×' + v.weight }), h('td', { text: v.template })))) : null);
    };
    mount(h('p', {}, h('a', { href: '#/campaigns', text: '← ' + t('campaigns') })), box);
    await load();
    every(() => load().catch(showError), 3000);
  }

  // ---- dialogs ------------------------------------------------------------

  async function dialogsPage(args, alive) {
    if (args[0]) return dialogChat(args[0], alive);
    const { scripts, problems } = await api('GET', '/dialogs');
    if (!alive()) return;
    mount(h('h1', { text: t('scripts') }),
      table([t('id'), t('version'), t('priority'), t('file'), t('steps')], (scripts || []).map((s) =>
        h('tr', { 'data-script': s.id }, h('td', {}, h('a', { href: '#/dialogs/' + encodeURIComponent(s.id), text: s.id })),
          h('td', { text: 'v' + s.version }), h('td', { text: s.priority }), h('td', { text: s.file }), h('td', { text: (s.steps || []).join(' → ') })))),
      h('h2', { text: t('problems') }),
      (problems || []).length === 0 ? h('p', { class: 'ok', id: 'problems', text: t('noProblems') }) :
        h('ul', { id: 'problems' }, problems.map((p) => h('li', { class: 'bad', text: p.file + (p.line ? ':' + p.line + ':' + p.column : '') + ': ' + p.message }))));
  }

  async function dialogChat(id, alive) {
    const messages = [];
    const chat = h('div', { class: 'chat', id: 'chat' });
    const input = h('input', { id: 'chat-input', placeholder: t('say'), autocomplete: 'off' });
    const run = async () => {
      const res = await api('POST', '/dialogs/' + encodeURIComponent(id) + '/try', { messages });
      if (!alive()) return;
      chat.replaceChildren(...res.turns.flatMap((turn) => [
        turn.in ? h('div', { class: 'bubble in', text: turn.in }) : null,
        ...turn.replies.map((r) => h('div', { class: 'bubble out', 'data-reply': '' },
          r.template ? '[' + t('template') + ' ' + r.template + ']' + (r.vars && Object.keys(r.vars).length ? ' ' + kvText(r.vars) : '') : r.text)),
        ...turn.actions.map((a) => h('div', { class: 'note', text: '⚙ ' + a })),
        turn.error ? h('div', { class: 'note bad', text: turn.error }) : null,
        h('div', { class: 'note' }, turn.handed_off ? t('handedOff') : turn.ended ? t('ended') : turn.step ? t('waitsAt') + ' ' + turn.step : ''),
      ]));
    };
    const say = async (ev) => {
      ev.preventDefault();
      if (!input.value.trim()) return;
      messages.push(input.value);
      input.value = '';
      await run();
      input.focus();
    };
    mount(h('p', {}, h('a', { href: '#/dialogs', text: '← ' + t('scripts') })), h('h1', { text: t('tryChat') + ' · ' + id }),
      h('p', { class: 'muted', text: t('tryHint') }), chat,
      h('form', { class: 'row', id: 'chat-form', onsubmit: guard(say) }, input, h('button', { type: 'submit', class: 'primary', text: t('send') }),
        h('button', { type: 'button', text: t('restart'), onclick: guard(async () => { messages.length = 0; await run(); }) })));
    await run();
  }

  // ---- contacts -----------------------------------------------------------

  async function contactsPage(args, alive) {
    if (args[0]) return contactView(args[0], alive);
    const kind = h('select', { id: 'lookup-kind' }, ['phone', 'email', 'openid', 'unionid', 'external_userid'].map((k) => h('option', { value: k, text: k })));
    const value = h('input', { id: 'lookup-id', placeholder: '13800138000' });
    const find = async (ev) => {
      ev.preventDefault();
      const c = await api('GET', '/contacts/lookup?kind=' + encodeURIComponent(kind.value) + '&id=' + encodeURIComponent(value.value.trim()));
      location.hash = '#/contacts/' + encodeURIComponent(c.id);
    };
    mount(h('h1', { text: t('contacts') }),
      h('form', { class: 'row', id: 'lookup', onsubmit: guard(find) }, kind, value, h('button', { type: 'submit', class: 'primary', text: t('lookup') })));
    value.focus();
  }

  async function contactView(id, alive) {
    const [c, tl] = await Promise.all([api('GET', '/contacts/' + encodeURIComponent(id)), api('GET', '/contacts/' + encodeURIComponent(id) + '/timeline?limit=50')]);
    if (!alive()) return;
    const ids = Object.entries(c.identities || {}).map(([k, v]) => k + ': ' + (Array.isArray(v) ? v.join(', ') : v)).join(' · ');
    mount(h('p', {}, h('a', { href: '#/contacts', text: '← ' + t('contacts') })),
      h('h1', { id: 'contact-name', text: c.name || c.id }),
      h('table', { id: 'contact' }, h('tbody', {},
        h('tr', {}, h('th', { text: t('id') }), h('td', { text: c.id })),
        h('tr', {}, h('th', { text: t('identities') }), h('td', { text: ids })),
        h('tr', {}, h('th', { text: t('tags') }), h('td', { class: 'tags', id: 'contact-tags' }, (c.tags || []).map((x) => badge('', x)))),
        h('tr', {}, h('th', { text: t('score') }), h('td', { id: 'contact-score', text: c.score })),
        h('tr', {}, h('th', { text: t('stage') }), h('td', { id: 'contact-stage', text: c.stage })),
        h('tr', {}, h('th', { text: t('activity') }), h('td', { text: c.activity })),
        h('tr', {}, h('th', { text: t('owner') }), h('td', { text: c.owner || '' })),
        h('tr', {}, h('th', { text: t('consent') }), h('td', {}, Object.entries(c.consent || {}).map(([ch, s]) =>
          h('span', {}, ch + ' ', badge(s, s), ' ')))),
        h('tr', {}, h('th', { text: t('lastSeen') }), h('td', { text: when(c.last_seen) })))),
      h('h2', { text: t('timeline') }),
      table([t('when'), t('type'), t('detail')], (tl.entries || []).map((e) => h('tr', {}, h('td', { text: when(e.at) }), h('td', { text: e.type }),
        h('td', { class: 'pre', text: [e.source, e.text, kvText(e.props)].filter(Boolean).join(' · ') })))));
  }

  // ---- hand-offs ----------------------------------------------------------

  async function handoffsPage(args, alive) {
    const q = new URLSearchParams(location.hash.split('?')[1] || '');
    const sales = me.role === 'sales';
    const mine = h('input', { type: 'checkbox', id: 'h-mine', checked: sales || q.get('mine') === '1', disabled: sales || !me.userid });
    const overdue = h('input', { type: 'checkbox', id: 'h-overdue', checked: q.get('overdue') === '1' });
    const list = h('div', { id: 'handoffs' });
    const load = async () => {
      const p = new URLSearchParams();
      if (mine.checked) p.set('mine', '1');
      if (overdue.checked) p.set('overdue', '1');
      const { handoffs } = await api('GET', '/handoffs?' + p.toString());
      if (!alive()) return;
      list.replaceChildren(handoffs.length === 0 ? h('p', { class: 'muted', text: t('noneOpen') }) :
        table([t('name'), t('rep'), t('openedAt'), t('dueAt'), t('status'), ''], handoffs.map((x) =>
          h('tr', { 'data-handoff': x.contact_id }, h('td', {}, h('a', { href: '#/contacts/' + encodeURIComponent(x.contact_id), text: x.name || x.contact_id })),
            h('td', { text: x.rep }), h('td', { text: when(x.opened_at) }), h('td', { text: when(x.due_at) }),
            h('td', {}, x.overdue ? badge('overdue', t('isOverdue')) : badge('', t('onTime'))),
            h('td', {}, h('button', { type: 'button', 'data-done': x.contact_id, text: t('done'), onclick: guard(async () => {
              await api('POST', '/contacts/' + encodeURIComponent(x.contact_id) + '/handoff/done');
              await load();
            }) }))))));
    };
    mine.addEventListener('change', guard(load));
    overdue.addEventListener('change', guard(load));
    mount(h('h1', { text: t('handoffs') }),
      h('div', { class: 'row' }, h('label', {}, mine, ' ' + t('mine')), h('label', {}, overdue, ' ' + t('overdue'))), list);
    await load();
  }

  const VIEWS = { templates: templatesPage, campaigns: campaignsPage, dialogs: dialogsPage, contacts: contactsPage, handoffs: handoffsPage };

  document.addEventListener('DOMContentLoaded', () => {
    $('#lang').addEventListener('click', () => {
      lang = lang === 'zh' ? 'en' : 'zh';
      localStorage.setItem('jg.lang', lang);
      route();
    });
    $('#logout').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN);
      me = null;
      location.hash = '#/';
      route();
    });
    window.addEventListener('hashchange', route);
    route();
  });
})();
