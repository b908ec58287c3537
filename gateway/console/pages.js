// Console pages: campaigns, dialog scripts, contacts, hand-offs.
'use strict';
(() => {
  const { h, t, api, badge, when, table, field, guard, every, debounce, mount, put, showError, CHANNELS, kvText } = JG;

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
      owner: h('input', { id: 'c-owner', value: JG.me().userid || '' }),
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
      put(box,
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
    const path = '/contacts/' + encodeURIComponent(id);
    const [c, tl, sc] = await Promise.all([api('GET', path), api('GET', path + '/timeline?limit=50'), api('GET', path + '/score?limit=50')]);
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
      scoreSection(sc),
      h('h2', { text: t('timeline') }),
      table([t('when'), t('type'), t('detail')], (tl.entries || []).map((e) => h('tr', {}, h('td', { text: when(e.at) }), h('td', { text: e.type }),
        h('td', { class: 'pre', text: [e.source, e.text, kvText(e.props)].filter(Boolean).join(' · ') })))),
      JG.me().role === 'admin' ? privacySection(c) : null);
  }

  // scoreSection answers "why is this lead hot": the band and the score
  // changes that made it, newest first.
  function scoreSection(sc) {
    const entries = sc.entries || [];
    return h('section', { id: 'score-why' },
      h('h2', {}, t('scoreWhy') + ' ', badge('band-' + sc.band, t('band_' + sc.band)), ' ', h('span', { class: 'muted', text: sc.score + ' · ' + sc.stage })),
      entries.length === 0 ? h('p', { class: 'muted', text: t('noScore') }) :
        table([t('when'), t('points'), t('reason'), t('scoreAfter')], entries.map((e) =>
          h('tr', { 'data-score-entry': e.event_id || e.event_type }, h('td', { text: when(e.at) }),
            h('td', { class: e.points >= 0 ? 'ok' : 'bad', text: (e.points > 0 ? '+' : '') + e.points }),
            h('td', {}, h('span', { text: e.reason || e.event_type }), e.event_id ? h('span', { class: 'muted', text: ' · ' + e.event_id }) : null),
            h('td', { text: String(e.score) })))));
  }

  // privacySection is the admin's answer to an access or erasure request:
  // the whole record as JSON, and erasure behind typing the contact's id.
  function privacySection(c) {
    const confirm = h('input', { id: 'erase-confirm', placeholder: c.id, autocomplete: 'off' });
    const erase = h('button', { type: 'button', id: 'erase', class: 'danger', text: t('erase'), disabled: true });
    const result = h('p', { id: 'privacy-result' });
    confirm.addEventListener('input', () => { erase.disabled = confirm.value.trim() !== c.id; });
    erase.addEventListener('click', guard(async () => {
      if (confirm.value.trim() !== c.id) return;
      const res = await api('DELETE', '/contacts/' + encodeURIComponent(c.id));
      erase.disabled = true;
      confirm.disabled = true;
      result.className = 'ok';
      result.textContent = res.erased ? t('erased') : t('alreadyErased');
    }));
    return h('section', { id: 'privacy' }, h('h2', { text: t('privacy') }),
      h('div', { class: 'row' }, h('button', { type: 'button', id: 'export-contact', text: t('exportJSON'), onclick: guard(async () => {
        const res = await JG.raw('GET', '/contacts/' + encodeURIComponent(c.id) + '/export');
        JG.saveBlob(await res.blob(), 'contact-' + c.id + '.json');
        result.className = 'muted';
        result.textContent = t('exportedJSON');
      }) })),
      h('p', { class: 'muted', text: t('eraseHint', { id: c.id }) }),
      h('div', { class: 'row' }, confirm, erase), result);
  }

  // ---- hand-offs ----------------------------------------------------------

  async function handoffsPage(args, alive) {
    const q = new URLSearchParams(location.hash.split('?')[1] || '');
    const sales = JG.me().role === 'sales';
    const mine = h('input', { type: 'checkbox', id: 'h-mine', checked: sales || q.get('mine') === '1', disabled: sales || !JG.me().userid });
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

  JG.words({
    zh: {
      scoreWhy: '为什么是这个分数', points: '分值', reason: '原因', scoreAfter: '变动后分数', noScore: '还没有分数变动',
      band_hot: '热', band_warm: '温', band_cold: '冷', privacy: '个人信息请求', exportJSON: '导出全部数据（JSON）', exportedJSON: '已下载',
      eraseHint: '删除会清除此人在所有数据中的记录，且无法恢复。请输入联系人 ID（{id}）确认。', erase: '永久删除', erased: '已删除', alreadyErased: '此前已删除，没有改动'
    },
    en: {
      scoreWhy: 'Why this score', points: 'Points', reason: 'Reason', scoreAfter: 'Score after', noScore: 'No score changes yet',
      band_hot: 'hot', band_warm: 'warm', band_cold: 'cold', privacy: 'Personal data requests', exportJSON: 'Export all data (JSON)', exportedJSON: 'Downloaded',
      eraseHint: 'Erasure removes this person from every store and cannot be undone. Type the contact id ({id}) to confirm.', erase: 'Erase for good', erased: 'Erased', alreadyErased: 'Already erased; nothing changed'
    }
  });
  JG.page('campaigns', ['admin', 'marketer'], campaignsPage);
  JG.page('dialogs', ['admin', 'marketer'], dialogsPage);
  JG.page('contacts', ['admin', 'marketer', 'sales'], contactsPage);
  JG.page('handoffs', ['admin', 'marketer', 'sales'], handoffsPage);
})();
