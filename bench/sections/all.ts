/** Every section, in the order a run measures and reports them. */
import type { Section } from '../section.js';
import { callbackSection } from './callback.js';
import { memorySection } from './memory.js';
import { multiplexSection } from './multiplex.js';
import { payloadSection } from './payload.js';
import { startSection } from './start.js';
import { streamSection } from './stream.js';
import { unaryMtlsSection, unarySection } from './unary.js';

export const sections: Section[] = [unarySection, unaryMtlsSection, payloadSection, multiplexSection, callbackSection, streamSection, startSection, memorySection];
