// JourneyGate console: hand-written, no framework, no build step. Pages live
// in the URL fragment (#/templates/welcome); every API call carries the
// token kept in sessionStorage; text from the API is only ever set as text,
// never parsed as HTML. This file is the frame (log-in, nav, language, API
// calls, DOM helpers), shared with the page files as window.JG; each page
// file registers its pages and words with JG.page and JG.words.
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
  // PAGES and VIEWS are filled by the page files (templates.js, pages.js,
  // ...) through JG.page, in the order index.html loads them: the nav order.
  const PAGES = [];
  const VIEWS = {};
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
  // put replaces el's children like replaceChildren, but flattens lists and
  // skips null, undefined and false (replaceChildren would show "null").
  const put = (el, ...kids) => el.replaceChildren(...kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false));
  const mount = (...kids) => put($('#main'), ...kids);

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
    const my = ++gen;
    timers.forEach((stop) => stop());
    timers = [];
    clearError();
    if (!sessionStorage.getItem(TOKEN)) return loginPage();
    if (!me) {
      try {
        const who = await api('GET', '/me');
        if (my !== gen) return; // a later navigation took over while we asked
        me = who;
      } catch (e) {
        if (my !== gen) return;
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
    const alive = () => my === gen;
    try {
      await VIEWS[page](parts.slice(1), alive);
    } catch (e) {
      if (alive()) { mount(); showError(e); }
    }
  }

  // ---- shared with the page files ------------------------------------------

  // kvText and kvParse edit a flat map as "name=value" lines.
  const kvText = (m) => Object.entries(m || {}).map(([k, v]) => k + '=' + v).join('\n');
  const kvParse = (s) => {
    const out = {};
    for (const line of s.split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    return out;
  };

  // raw calls the API and answers the Response itself, for files (CSV,
  // XLSX, JSON downloads) and uploads; errors are thrown as api() throws them.
  async function raw(method, path, body, contentType) {
    const headers = { Authorization: 'Bearer ' + (sessionStorage.getItem(TOKEN) || '') };
    if (contentType) headers['Content-Type'] = contentType;
    const res = await fetch('/api/v1' + path, { method, headers, body });
    if (!res.ok) {
      let data = null;
      try { data = await res.json(); } catch (_) { data = null; }
      const e = new Error(data && data.error ? data.error : res.status + ' ' + res.statusText);
      e.code = data && data.code;
      e.status = res.status;
      throw e;
    }
    return res;
  }

  // filename reads Content-Disposition's filename, else takes the fallback.
  const filename = (res, fallback) => {
    const m = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '');
    return m ? m[1] : fallback;
  };

  // saveBlob hands a blob to the browser as a download; a plain link cannot
  // carry the bearer token, so files are fetched first and saved from memory.
  function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // download fetches path with the token and saves it; it answers the
  // name saved, so pages can say what was downloaded.
  async function download(path, fallback) {
    const res = await raw('GET', path);
    const name = filename(res, fallback);
    saveBlob(await res.blob(), name);
    return name;
  }

  window.JG = {
    T, CHANNELS, h, t, kvText, kvParse, $, field, badge, when, table, api, raw, download, saveBlob, showError, clearError, guard, every, debounce, mount, put,
    me: () => me,
    lang: () => lang,
    // page adds a page to the nav for roles; view(args, alive) draws it.
    page(id, roles, view) { PAGES.push({ id, roles }); VIEWS[id] = view; },
    // words adds a page file's translations.
    words(w) { Object.assign(T.zh, w.zh); Object.assign(T.en, w.en); },
  };

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
