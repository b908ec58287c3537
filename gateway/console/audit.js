// Console page: the audit log (admins), newest first, filtered by target
// and action, paged back 50 entries at a time.
'use strict';
(() => {
  const { h, t, api, when, guard, mount } = JG;
  const PAGE = 50;

  async function auditPage(args, alive) {
    const target = h('input', { id: 'a-target', placeholder: 'welcome / c_123…' });
    const action = h('input', { id: 'a-action', placeholder: 'template.save', list: 'a-actions' });
    const actions = h('datalist', { id: 'a-actions' }, ['template.save', 'template.publish', 'template.test_send', 'campaign.create', 'contacts.import',
      'contacts.export', 'contact.export', 'contact.erase', 'contact.tags', 'contact.consent', 'token.issue'].map((a) => h('option', { value: a })));
    const body = h('tbody', {});
    const more = h('button', { type: 'button', id: 'a-more', text: t('older'), hidden: true });
    let before = '';
    const load = async (append) => {
      const p = new URLSearchParams({ limit: String(PAGE) });
      if (target.value.trim()) p.set('target', target.value.trim());
      if (action.value.trim()) p.set('action', action.value.trim());
      if (append && before) p.set('before', before);
      const { entries } = await api('GET', '/audit?' + p.toString());
      if (!alive()) return;
      const rows = entries.map((e) => h('tr', { 'data-entry': e.id, 'data-action': e.action },
        h('td', { text: when(e.at) }), h('td', { text: e.who || '' }), h('td', { text: e.role || '' }), h('td', { text: e.action }),
        h('td', { text: e.target || '' }), h('td', { class: 'pre', text: e.detail || '' }), h('td', { class: 'muted', text: e.request_id || '' })));
      if (append) body.append(...rows);
      else body.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: '7', class: 'muted', text: t('none') }))]));
      if (entries.length) before = entries[entries.length - 1].id;
      more.hidden = entries.length < PAGE;
    };
    more.addEventListener('click', guard(() => load(true)));
    mount(h('h1', { text: t('audit') }),
      h('form', { class: 'row', id: 'audit-form', onsubmit: (ev) => { ev.preventDefault(); guard(() => load(false))(); } },
        h('span', { class: 'muted', text: t('target') }), target, h('span', { class: 'muted', text: t('action') }), action, actions,
        h('button', { type: 'submit', class: 'primary', text: t('filter') })),
      h('table', { id: 'audit' }, h('thead', {}, h('tr', {}, [t('when'), t('by'), t('role'), t('action'), t('target'), t('detail'), t('requestId')].map((c) => h('th', { text: c })))), body),
      h('div', { class: 'row' }, more));
    await load(false);
  }

  JG.words({
    zh: { audit: '审计', target: '对象', action: '操作', filter: '筛选', older: '更早的记录', requestId: '请求 ID' },
    en: { audit: 'Audit', target: 'Target', action: 'Action', filter: 'Filter', older: 'Older entries', requestId: 'Request id' }
  });
  JG.page('audit', ['admin'], auditPage);
})();
