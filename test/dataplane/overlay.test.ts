import { trafficSuite } from './traffic';

trafficSuite('win-overlay');
