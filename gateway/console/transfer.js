// Console page: contact imports (CSV or XLSX, dry run, progress, rejects
// report) and exports (audience, format, progress, download). Sales reps
// get the export only, of the contacts they own.
'use strict';
(() => {
  const { h, t, api, raw, download, badge, table, guard, every, mount, put, showError } = JG;

  const FINISHED = ['done', 'failed'];
  const percent = (j) => (j.rows_total > 0 ? Math.floor((100 * j.rows_done) / j.rows_total) : (j.status === 'done' ? 100 : 0));

  // progress shows a job: a bar of rows done over rows total and its status.
  function progress(prefix, j) {
    return h('div', { class: 'row', id: prefix + '-bar' },
      h('progress', { id: prefix + '-progress', max: String(Math.max(1, j.rows_total)), value: String(j.status === 'done' && j.rows_total === 0 ? 1 : j.rows_done) }),
      h('span', { id: prefix + '-percent', 'data-percent': String(percent(j)), text: j.rows_done + ' / ' + j.rows_total + ' (' + percent(j) + ' %)' }),
      badge(j.status, t('job_' + j.status)));
  }

  // follow polls a job every second until it is done or failed.
  function follow(path, draw, alive) {
    let busy = false;
    const tick = async () => {
      if (busy || !alive()) return;
      busy = true;
      try {
        const j = await api('GET', path);
        if (!alive()) return;
        draw(j);
        if (FINISHED.includes(j.status)) stop();
      } catch (e) {
        showError(e);
        stop();
      } finally {
        busy = false;
      }
    };
    let stopped = false;
    const stop = () => { stopped = true; };
    every(() => { if (!stopped) tick(); }, 1000);
    tick();
  }

  function importSection(alive) {
    const file = h('input', { id: 'import-file', type: 'file', accept: '.csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' });
    const dry = h('input', { id: 'import-dry', type: 'checkbox' });
    const job = h('div', { id: 'import-job' });
    const draw = (j) => {
      const counts = ['created', 'updated', 'unchanged', 'rejected'];
      job.setAttribute('data-job', j.id);
      job.setAttribute('data-status', j.status);
      put(job,
        h('p', {}, (j.file_name || j.id) + (j.dry_run ? ' · ' + t('dryRun') : '')),
        progress('import', j),
        h('table', { class: 'stats', id: 'import-counts' }, h('tbody', {}, counts.map((k) =>
          h('tr', { 'data-count': k }, h('td', { text: t('n_' + k) }), h('td', { text: String(j[k]) }))))),
        j.error ? h('p', { class: 'bad', id: 'import-error', text: j.error }) : null,
        (j.errors || []).length ? table([t('line'), t('column'), t('reason')], j.errors.map((e) =>
          h('tr', {}, h('td', { text: String(e.line) }), h('td', { text: e.column || '' }), h('td', { text: e.reason })))) : null,
        j.rejected > 0 && FINISHED.includes(j.status) ? h('button', { type: 'button', id: 'import-rejects', text: t('rejectsCSV'),
          onclick: guard(() => download('/imports/' + encodeURIComponent(j.id) + '/rejects.csv', 'rejects-' + j.id + '.csv')) }) : null);
    };
    const upload = async () => {
      if (!file.files.length) throw new Error(t('chooseFile'));
      const form = new FormData();
      form.append('file', file.files[0]);
      const res = await raw('POST', '/imports' + (dry.checked ? '?dry_run=1' : ''), form);
      const j = await res.json();
      draw(j);
      follow('/imports/' + encodeURIComponent(j.id), draw, alive);
    };
    return h('section', { id: 'import' }, h('h2', { text: t('import') }), h('p', { class: 'muted', text: t('importHint') }),
      h('form', { class: 'row', id: 'import-form', onsubmit: (ev) => { ev.preventDefault(); guard(upload)(); } },
        file, h('label', {}, dry, ' ' + t('dryRun')), h('button', { type: 'submit', class: 'primary', text: t('upload') })), job);
  }

  function exportSection(alive) {
    const audience = h('textarea', { id: 'export-audience', rows: 2, placeholder: 'tag:vip AND score>=50' });
    const format = h('select', { id: 'export-format' }, ['csv', 'xlsx'].map((f) => h('option', { value: f, text: f.toUpperCase() })));
    const fields = h('input', { id: 'export-fields', placeholder: 'id, name, phone, email, tags, score' });
    const job = h('div', { id: 'export-job' });
    const draw = (j) => {
      job.setAttribute('data-job', j.id);
      job.setAttribute('data-status', j.status);
      put(job, progress('export', j),
        h('p', {}, t('exported') + ': ', h('span', { id: 'export-count', text: String(j.exported) })),
        j.error ? h('p', { class: 'bad', text: j.error }) : null,
        j.status === 'done' ? h('button', { type: 'button', id: 'export-download', class: 'primary', text: t('downloadFile'),
          onclick: guard(() => download('/exports/' + encodeURIComponent(j.id) + '/file', 'contacts-' + j.id + '.' + j.format)) }) : null);
    };
    const start = async () => {
      const body = { audience: audience.value, format: format.value };
      const fl = fields.value.split(/[,，\s]+/).filter(Boolean);
      if (fl.length) body.fields = fl;
      const j = await api('POST', '/exports', body);
      draw(j);
      follow('/exports/' + encodeURIComponent(j.id), draw, alive);
    };
    return h('section', { id: 'export' }, h('h2', { text: t('export') }),
      JG.me().role === 'sales' ? h('p', { class: 'muted', text: t('exportOwn') }) : null,
      h('form', { id: 'export-form', onsubmit: (ev) => { ev.preventDefault(); guard(start)(); } },
        JG.field(t('audience'), audience), JG.field(t('format'), format), JG.field(t('fields'), fields),
        h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary', text: t('startExport') }))), job);
  }

  async function transferPage(args, alive) {
    const sales = JG.me().role === 'sales';
    mount(h('h1', { text: t(sales ? 'export' : 'transfer') }), sales ? null : importSection(alive), exportSection(alive));
  }

  JG.words({
    zh: {
      transfer: '导入导出', import: '导入', export: '导出', importHint: 'CSV（UTF-8 或 GBK）或 XLSX。试运行只比对、不写入。', dryRun: '试运行',
      upload: '上传', chooseFile: '请先选择文件', n_created: '新建', n_updated: '更新', n_unchanged: '未变', n_rejected: '拒绝',
      line: '行', column: '列', reason: '原因', rejectsCSV: '下载拒绝明细', format: '格式', fields: '字段（逗号分隔，留空为默认）',
      startExport: '开始导出', exported: '已导出', downloadFile: '下载文件', exportOwn: '只导出您负责的联系人。',
      job_queued: '排队中', job_validating: '校验中', job_importing: '导入中', job_exporting: '导出中', job_done: '完成', job_failed: '失败'
    },
    en: {
      transfer: 'Import & export', import: 'Import', export: 'Export', importHint: 'CSV (UTF-8 or GBK) or XLSX. A dry run compares and writes nothing.', dryRun: 'Dry run',
      upload: 'Upload', chooseFile: 'Choose a file first', n_created: 'created', n_updated: 'updated', n_unchanged: 'unchanged', n_rejected: 'rejected',
      line: 'Line', column: 'Column', reason: 'Reason', rejectsCSV: 'Download rejected rows', format: 'Format', fields: 'Fields (comma separated; empty: the defaults)',
      startExport: 'Export', exported: 'Exported', downloadFile: 'Download the file', exportOwn: 'Only the contacts you own are exported.',
      job_queued: 'queued', job_validating: 'validating', job_importing: 'importing', job_exporting: 'exporting', job_done: 'done', job_failed: 'failed'
    }
  });
  JG.page('transfer', ['admin', 'marketer', 'sales'], transferPage);
})();
