import { it } from 'node:test';
import assert from 'node:assert/strict';
import { pluginTitle } from './plugin-title.js';

it('makes titles of plugin names, spelling out a language abbreviation', () => {
  assert.equal(pluginTitle('filelister', 'typescript'), 'File Lister');
  assert.equal(pluginTitle('colorlister', 'typescript'), 'Color Lister');
  assert.equal(pluginTitle('hostdemo', 'typescript'), 'Host Demo');
  assert.equal(pluginTitle('golister', 'go'), 'Go Lister');
  assert.equal(pluginTitle('pylelister', 'python'), 'Python Lister');
  assert.equal(pluginTitle('my-kv_store'), 'My Kv Store');
  // Only a short first word that matches the language is spelled out.
  assert.equal(pluginTitle('golister', 'python'), 'Go Lister');
  assert.equal(pluginTitle('pylelister', 'go'), 'Pyle Lister');
  assert.equal(pluginTitle('lister', 'go'), 'Lister');
});
