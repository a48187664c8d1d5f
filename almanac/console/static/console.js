// Small enhancements every console page may use; each page works without them.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  // A select marked data-autosubmit submits its form when changed (the button stays
  // for keyboard and no-script users, but is not needed any more).
  document.querySelectorAll('select[data-autosubmit]').forEach((select) => {
    select.addEventListener('change', () => select.form.submit());
  });
  // A file input marked data-fills="<textarea id>" reads the chosen file into it.
  document.querySelectorAll('input[type=file][data-fills]').forEach((input) => {
    input.addEventListener('change', () => {
      const file = input.files && input.files[0];
      const target = document.getElementById(input.dataset.fills);
      if (!file || !target) return;
      file.text().then((text) => { target.value = text; });
    });
  });
  // A page with an error summary moves focus to it, so screen readers announce it.
  const summary = document.getElementById('error-summary');
  if (summary) summary.focus();
});
