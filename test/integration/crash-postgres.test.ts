import { crashSuite } from '../support/crash.js';

crashSuite('postgres');
