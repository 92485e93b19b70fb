import t from 'tap';
import { decide } from './helpers/policy.js';

t.test('first matching rule decides', async (t) => {
  const d = decide('qubes.Filecopy * work personal allow\nqubes.Filecopy * @anyvm @anyvm deny\n', 'work', 'personal', 'qubes.Filecopy');
  t.equal(d.result, 'allow');
  t.equal(d.result === 'allow' && d.target, 'personal');
  t.equal(d.rule?.line, 1);
  const d2 = decide('qubes.Filecopy * work personal allow\nqubes.Filecopy * @anyvm @anyvm deny\n', 'work', 'vault', 'qubes.Filecopy');
  t.equal(d2.result, 'deny');
  t.equal(d2.rule?.line, 2);
});
